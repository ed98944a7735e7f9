import { createCipheriv, createDecipheriv, randomBytes, randomUUID, scrypt, timingSafeEqual } from 'node:crypto'
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises'
import { dirname } from 'node:path'
import { promisify } from 'node:util'
import { keccak_256 } from '@noble/hashes/sha3.js'
import { z } from 'zod'
import { KeystoreCorruptError, WeakKeystoreError, WrongPassphraseError } from './errors.ts'
import { generateNodeKey, nodeKeyFromSecret } from './nodeKey.ts'
import type { NodeKey } from './nodeKey.ts'

const scryptAsync = promisify(scrypt) as (password: string, salt: Buffer, keylen: number, options: object) => Promise<Buffer>

/**
 * scrypt cost. `standard` is geth's default (N=2^18, ~0.5 s); `light` (N=2^12) is for devnet keys
 * only, which guard nothing of value, so that demos and tests start quickly. A keystore is opened
 * only when its cost is at least the strength asked for, so a light (devnet) key is never used
 * where a standard one is expected.
 */
export type KdfStrength = 'standard' | 'light'
const scryptN: Record<KdfStrength, number> = { standard: 1 << 18, light: 1 << 12 }
const SCRYPT_R = 8

const hex = z.string().regex(/^[0-9a-f]*$/i)
const keystoreV3 = z.object({
  version: z.literal(3),
  id: z.string(),
  address: hex.length(40),
  crypto: z.object({
    cipher: z.literal('aes-128-ctr'),
    ciphertext: hex.length(64),
    cipherparams: z.object({ iv: hex.length(32) }),
    kdf: z.literal('scrypt'),
    kdfparams: z.object({
      dklen: z.literal(32),
      salt: hex.min(2),
      n: z.number().int().min(2).max(1 << 20),
      r: z.number().int().min(1).max(32),
      p: z.number().int().min(1).max(16),
    }),
    mac: hex.length(64),
  }),
})
export type KeystoreV3 = z.infer<typeof keystoreV3>

async function deriveKey (passphrase: string, salt: Buffer, n: number, r: number, p: number): Promise<Buffer> {
  return scryptAsync(passphrase.normalize('NFKC'), salt, 32, { N: n, r, p, maxmem: 256 * n * r + 1024 * 1024 })
}

function mac (derivedKey: Buffer, ciphertext: Buffer): Buffer {
  return Buffer.from(keccak_256(Buffer.concat([derivedKey.subarray(16, 32), ciphertext])))
}

/** Encrypts a node key as a Web3 Secret Storage v3 keystore (the format geth and MetaMask read). */
export async function encryptKeystore (key: NodeKey, passphrase: string, strength: KdfStrength = 'standard'): Promise<KeystoreV3> {
  const salt = randomBytes(32)
  const iv = randomBytes(16)
  const params = { dklen: 32 as const, salt: salt.toString('hex'), n: scryptN[strength], r: SCRYPT_R, p: 1 }
  const derivedKey = await deriveKey(passphrase, salt, params.n, params.r, params.p)
  const cipher = createCipheriv('aes-128-ctr', derivedKey.subarray(0, 16), iv)
  const ciphertext = Buffer.concat([cipher.update(key.secret), cipher.final()])
  return {
    version: 3,
    id: randomUUID(),
    address: key.address.slice(2).toLowerCase(),
    crypto: {
      cipher: 'aes-128-ctr',
      ciphertext: ciphertext.toString('hex'),
      cipherparams: { iv: iv.toString('hex') },
      kdf: 'scrypt',
      kdfparams: params,
      mac: mac(derivedKey, ciphertext).toString('hex'),
    },
  }
}

/**
 * Decrypts a v3 keystore whose KDF costs at least `minimum` (WeakKeystoreError otherwise, before
 * any work); `path` only names the file in errors.
 */
export async function decryptKeystore (json: unknown, passphrase: string, path = 'keystore', minimum: KdfStrength = 'standard'): Promise<NodeKey> {
  const parsed = keystoreV3.safeParse(json)
  if (!parsed.success) throw new KeystoreCorruptError(path, parsed.error.issues.map(i => `${i.path.join('.')}: ${i.message}`).join('; '))
  const { crypto } = parsed.data
  const { salt, n, r, p } = crypto.kdfparams
  // A guess at the passphrase costs N·r·p; p is parallel work, so it counts like N and r do.
  if (n * r * p < scryptN[minimum] * SCRYPT_R) throw new WeakKeystoreError(path, `N=${n}, r=${r}, p=${p}`, `N=${scryptN[minimum]}, r=${SCRYPT_R}`)
  const derivedKey = await deriveKey(passphrase, Buffer.from(salt, 'hex'), n, r, p)
  const ciphertext = Buffer.from(crypto.ciphertext, 'hex')
  if (!timingSafeEqual(mac(derivedKey, ciphertext), Buffer.from(crypto.mac, 'hex'))) throw new WrongPassphraseError(path)
  const decipher = createDecipheriv('aes-128-ctr', derivedKey.subarray(0, 16), Buffer.from(crypto.cipherparams.iv, 'hex'))
  const key = nodeKeyFromSecret(Buffer.concat([decipher.update(ciphertext), decipher.final()]))
  if (key.address.slice(2).toLowerCase() !== parsed.data.address.toLowerCase()) {
    throw new KeystoreCorruptError(path, `the decrypted key belongs to ${key.address}, not 0x${parsed.data.address}`)
  }
  return key
}

/** Reads and decrypts the keystore at `path`, refusing one whose KDF is weaker than `minimum`. */
export async function readKeystore (path: string, passphrase: string, minimum: KdfStrength = 'standard'): Promise<NodeKey> {
  let json: unknown
  try {
    json = JSON.parse(await readFile(path, 'utf8'))
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw error
    throw new KeystoreCorruptError(path, `not JSON: ${(error as Error).message}`)
  }
  return decryptKeystore(json, passphrase, path, minimum)
}

/** Writes a keystore atomically (temp file + rename) with owner-only permissions. */
export async function writeKeystore (path: string, keystore: KeystoreV3): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 })
  const temp = `${path}.${process.pid}.tmp`
  await writeFile(temp, JSON.stringify(keystore, null, 2) + '\n', { mode: 0o600 })
  await rename(temp, path)
}

/** The node's key from `path`, created there on first use with `strength`, the least it accepts. */
export async function loadOrCreateNodeKey (path: string, passphrase: string, strength: KdfStrength = 'standard'): Promise<{ key: NodeKey, created: boolean }> {
  try {
    return { key: await readKeystore(path, passphrase, strength), created: false }
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error
  }
  const key = await generateNodeKey()
  await writeKeystore(path, await encryptKeystore(key, passphrase, strength))
  return { key, created: true }
}
