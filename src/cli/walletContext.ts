import { access, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { getAddress } from 'viem'
import { readKeystore } from '../identity/index.ts'
import { createLedgerClient, LedgerError } from '../ledger/index.ts'
import { assertDevnetChain, assertDevnetEndpoint, chainInfoOf, defaultDataDir, readChainFile } from '../node/index.ts'
import { resolvePassphrase } from './passphrase.ts'
import type { ChainFile } from '../node/index.ts'
import type { LedgerClient } from '../ledger/index.ts'
import type { Address } from 'viem'

/** The wallet commands work on a data dir directly (keystore and chain.json), not through a running node. */
export const WALLET_OPTIONS = {
  'data-dir': { type: 'string' },
  'passphrase-file': { type: 'string' },
  devnet: { type: 'boolean' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const

export const WALLET_OPTIONS_HELP = `  --data-dir DIR          the node's data directory (default: $CONUN_DATA_DIR or ~/.conun)
  --passphrase-file FILE  the keystore passphrase, for commands that sign
                          (otherwise $CONUN_PASSPHRASE, or you are asked on the terminal)
  --devnet                the devnet passphrase (INSECURE: local demos and tests only)
  --json                  print JSON
  -h, --help              show this help`

export interface WalletValues {
  'data-dir'?: string
  'passphrase-file'?: string
  devnet?: boolean
}

export const dataDirOf = (values: WalletValues) => values['data-dir'] ?? defaultDataDir()
export const keystorePath = (values: WalletValues) => join(dataDirOf(values), 'node.key.json')

/** The node's address, from its keystore's public part: no passphrase needed. */
export async function walletAddress (values: WalletValues): Promise<Address> {
  const path = keystorePath(values)
  let json: { address?: unknown }
  try {
    json = JSON.parse(await readFile(path, 'utf8')) as { address?: unknown }
  } catch (error) {
    throw new LedgerError(`no readable keystore at ${path} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}): start the node once, or "conun wallet import" one`)
  }
  if (typeof json.address !== 'string' || !/^[0-9a-fA-F]{40}$/.test(json.address)) throw new LedgerError(`${path} is not a Web3 Secret Storage keystore`)
  return getAddress(`0x${json.address}`)
}

/** The chain the node last connected to, as it wrote it to <dataDir>/chain.json. */
export async function walletChain (values: WalletValues): Promise<ChainFile> {
  const path = join(dataDirOf(values), 'chain.json')
  if (!await access(path).then(() => true, () => false)) throw new LedgerError(`no chain known for ${dataDirOf(values)}: start the node once (it writes chain.json)`)
  return readChainFile(path)
}

/** A chain client for reading; checks that the endpoint answers and is the chain expected. */
export async function reader (values: WalletValues): Promise<LedgerClient> {
  const chain = await walletChain(values)
  return checked(createLedgerClient(chainInfoOf(chain), new Uint8Array(32).fill(1)), chain)
}

/** A chain client that signs with the node key, unlocked with the passphrase. */
export async function signer (values: WalletValues): Promise<LedgerClient> {
  const chain = await walletChain(values)
  const devnet = values.devnet === true
  assertDevnetChain({ devnet, chainId: chain.chainId })
  await assertDevnetEndpoint({ devnet, chain })
  const { passphrase } = await resolvePassphrase({ devnet, passphraseFile: values['passphrase-file'] })
  const key = await readKeystore(keystorePath(values), passphrase, devnet ? 'light' : 'standard')
  return checked(createLedgerClient(chainInfoOf(chain), key.secret), chain)
}

async function checked (client: LedgerClient, chain: ChainFile): Promise<LedgerClient> {
  const { rpcUrl, chainId } = client.info
  const actual = await client.public.getChainId().catch(() => {
    throw new LedgerError(`cannot reach the chain at ${rpcUrl}${chain.embedded ? ': it is the node\'s embedded dev chain, which runs only while the node does' : ''}`)
  })
  if (actual !== chainId) throw new LedgerError(`wrong chain: ${rpcUrl} is chain ${actual}, the node's contracts are on chain ${chainId}`)
  return client
}
