import { test } from 'node:test'
import assert from 'node:assert/strict'
import { hashMessage, hexToBytes, recoverMessageAddress } from 'viem'
import { canonicalJson, addressOfPeer, publicKeyOfPeer, recoverSigner, signDigest, signingDigest, verifyDigest } from './sign.ts'
import { generateNodeKey } from './nodeKey.ts'

test('canonical JSON does not depend on key order', () => {
  assert.equal(canonicalJson({ b: 1, a: [{ d: 2, c: null }] }), canonicalJson({ a: [{ c: null, d: 2 }], b: 1 }))
  assert.equal(canonicalJson({ a: undefined, b: 'x' }), '{"b":"x"}')
  assert.throws(() => canonicalJson({ a: Number.NaN }))
})

test('a signature verifies against the PeerId key and recovers the Ethereum address', async () => {
  const key = await generateNodeKey()
  const digest = signingDigest('conun/test/1', { job: 'j', n: 1 })
  const signature = signDigest(key.secret, digest)
  assert.equal(verifyDigest(publicKeyOfPeer(key.peerId)!, digest, signature), true)
  assert.equal(recoverSigner(digest, signature), key.address)
  assert.equal(addressOfPeer(key.peerId), key.address)
})

test('signatures do not carry over to other bodies, domains or keys', async () => {
  const key = await generateNodeKey()
  const other = await generateNodeKey()
  const signature = signDigest(key.secret, signingDigest('conun/a/1', { n: 1 }))
  assert.equal(verifyDigest(publicKeyOfPeer(key.peerId)!, signingDigest('conun/a/1', { n: 2 }), signature), false)
  assert.equal(verifyDigest(publicKeyOfPeer(key.peerId)!, signingDigest('conun/b/1', { n: 1 }), signature), false)
  assert.equal(verifyDigest(publicKeyOfPeer(other.peerId)!, signingDigest('conun/a/1', { n: 1 }), signature), false)
  assert.equal(verifyDigest(publicKeyOfPeer(key.peerId)!, signingDigest('conun/a/1', { n: 1 }), '0x1234'), false)
})

test('r‖s‖v signatures are what Ethereum tooling expects', async () => {
  const key = await generateNodeKey()
  // viem hashes an EIP-191 message itself; sign that same digest ourselves and compare recoveries.
  const signature = signDigest(key.secret, hexToBytes(hashMessage('hello')))
  assert.equal(await recoverMessageAddress({ message: 'hello', signature }), key.address)
})
