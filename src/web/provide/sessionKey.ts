/**
 * A browser provider's session key: a secp256k1 key (its libp2p PeerId and its Ethereum address,
 * like a node's), kept for the tab's life in sessionStorage, so each tab is its own provider.
 */
import { bytesToHex, hexToBytes } from 'viem'
import { generateNodeKey, nodeKeyFromSecret } from '../../identity/index.ts'
import type { NodeKey } from '../../identity/index.ts'

const KEY = 'conun.sessionKey'

export async function loadOrCreateSessionKey (): Promise<NodeKey> {
  const kept = sessionStorage.getItem(KEY)
  if (kept !== null && /^0x[0-9a-f]{64}$/.test(kept)) return nodeKeyFromSecret(hexToBytes(kept as `0x${string}`))
  const key = await generateNodeKey()
  sessionStorage.setItem(KEY, bytesToHex(key.secret))
  return key
}
