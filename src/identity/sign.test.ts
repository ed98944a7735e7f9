import { test } from 'node:test'
import assert from 'node:assert/strict'
import { bytesToHex, hashMessage, hexToBytes, recoverMessageAddress } from 'viem'
import { secp256k1 } from '@noble/curves/secp256k1.js'
import { canonicalJson, addressOfPeer, PRECOMPUTE_AFTER, publicKeyOfPeer, recoverSigner, signDigest, signingDigest, verifyDigest } from './sign.ts'
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

test('verifyDigest agrees with the reference ECDSA verification on valid, tampered and high-s signatures', async () => {
  for (let i = 0; i < 40; i++) {
    const key = await generateNodeKey()
    const publicKey = publicKeyOfPeer(key.peerId)!
    const digest = signingDigest('conun/test/1', { i })
    const signature = signDigest(key.secret, digest)
    const bytes = hexToBytes(signature)
    const tampered = Uint8Array.from(bytes)
    tampered[i % 64]! ^= 1 << (i % 8)
    // The same signature with s replaced by n − s: valid ECDSA, but not low-s, so refused.
    const n = secp256k1.Point.Fn.ORDER
    const highS = (n - BigInt(bytesToHex(bytes.subarray(32, 64)))).toString(16).padStart(64, '0')
    for (const candidate of [bytes, tampered, Uint8Array.from([...bytes.subarray(0, 32), ...hexToBytes(`0x${highS}`), bytes[64]!])]) {
      const reference = secp256k1.verify(candidate.subarray(0, 64), digest, publicKey, { prehash: false, lowS: true })
      assert.equal(verifyDigest(publicKey, digest, bytesToHex(candidate)), reference)
    }
    assert.equal(verifyDigest(publicKey, digest, signature), true)
  }
})

test('verifyDigest gives the same answers before and after a key is used often enough to get its tables', async () => {
  const key = await generateNodeKey()
  const other = await generateNodeKey()
  const publicKey = publicKeyOfPeer(key.peerId)!
  for (let i = 0; i < PRECOMPUTE_AFTER * 2; i++) {
    const digest = signingDigest('conun/test/1', { i })
    const signature = signDigest(key.secret, digest)
    assert.equal(verifyDigest(publicKey, digest, signature), true, `use ${i + 1}`)
    assert.equal(verifyDigest(publicKey, digest, signDigest(other.secret, digest)), false, `use ${i + 1}, another key's signature`)
    assert.equal(verifyDigest(publicKey, signingDigest('conun/test/1', { i: -1 }), signature), false, `use ${i + 1}, another digest`)
  }
})
