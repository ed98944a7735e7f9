import { test } from 'node:test'
import type { TestContext } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { decryptKeystore, encryptKeystore, loadOrCreateNodeKey, readKeystore } from './keystore.ts'
import type { KeystoreV3 } from './keystore.ts'
import { generateNodeKey } from './nodeKey.ts'
import { KeystoreCorruptError, WeakKeystoreError, WrongPassphraseError } from './errors.ts'

/** A folder for one test's keystores, removed after it. */
async function keystoreDir (t: TestContext): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'conun-ks-'))
  t.after(() => rm(dir, { recursive: true, force: true }))
  return dir
}

test('a node key survives a keystore round trip, and its PeerId and address come from one secret', async () => {
  const key = await generateNodeKey()
  const keystore = await encryptKeystore(key, 'correct horse', 'light')
  assert.equal(keystore.version, 3)
  assert.equal(`0x${keystore.address}`, key.address.toLowerCase())
  const back = await decryptKeystore(keystore, 'correct horse', 'keystore', 'light')
  assert.equal(back.address, key.address)
  assert.equal(back.peerId.toString(), key.peerId.toString())
  assert.equal(back.peerId.type, 'secp256k1')
})

test('decrypts a keystore made with the standard (geth default) scrypt cost', async () => {
  const key = await generateNodeKey()
  const keystore = await encryptKeystore(key, 'pw')
  assert.equal(keystore.crypto.kdfparams.n, 1 << 18)
  assert.equal((await decryptKeystore(keystore, 'pw')).address, key.address)
})

test('a wrong passphrase gives WrongPassphraseError', async () => {
  const keystore = await encryptKeystore(await generateNodeKey(), 'right', 'light')
  await assert.rejects(decryptKeystore(keystore, 'wrong', 'keystore', 'light'), WrongPassphraseError)
})

test('damaged keystores give KeystoreCorruptError', async (t) => {
  const dir = await keystoreDir(t)
  const path = join(dir, 'node.key.json')
  await writeFile(path, '{ not json')
  await assert.rejects(readKeystore(path, 'x'), KeystoreCorruptError)
  await writeFile(path, JSON.stringify({ version: 3, id: 'x' }))
  await assert.rejects(readKeystore(path, 'x'), KeystoreCorruptError)

  const keystore = await encryptKeystore(await generateNodeKey(), 'pw', 'light')
  const other = await generateNodeKey()
  await assert.rejects(decryptKeystore({ ...keystore, address: other.address.slice(2).toLowerCase() }, 'pw', 'keystore', 'light'), KeystoreCorruptError)
})

test('loadOrCreateNodeKey creates once, then loads the same identity', async (t) => {
  const dir = await keystoreDir(t)
  const path = join(dir, 'keys', 'node.key.json')
  const first = await loadOrCreateNodeKey(path, 'pw', 'light')
  assert.equal(first.created, true)
  const second = await loadOrCreateNodeKey(path, 'pw', 'light')
  assert.equal(second.created, false)
  assert.equal(second.key.address, first.key.address)
  assert.match(await readFile(path, 'utf8'), /"kdf": "scrypt"/)
})

test('a light (devnet) keystore opens only where a light one is allowed: never as a standard key', async (t) => {
  const dir = await keystoreDir(t)
  const path = join(dir, 'node.key.json')
  const { key } = await loadOrCreateNodeKey(path, 'conun-devnet-insecure', 'light')
  // Its passphrase right or wrong, a light keystore is refused before any scrypt work is done.
  await assert.rejects(loadOrCreateNodeKey(path, 'conun-devnet-insecure'), WeakKeystoreError)
  await assert.rejects(readKeystore(path, 'anything'), /uses a light scrypt KDF \(N=4096, r=8, p=1\), weaker than the N=262144, r=8/)
  const json = JSON.parse(await readFile(path, 'utf8')) as KeystoreV3
  await assert.rejects(decryptKeystore(json, 'conun-devnet-insecure'), WeakKeystoreError)
  // What other tools write as "light" (geth: N=2^12, p=6) is weaker than the standard too.
  await assert.rejects(decryptKeystore({ ...json, crypto: { ...json.crypto, kdfparams: { ...json.crypto.kdfparams, p: 6 } } }, 'x'), WeakKeystoreError)
  assert.equal((await readKeystore(path, 'conun-devnet-insecure', 'light')).address, key.address)
})
