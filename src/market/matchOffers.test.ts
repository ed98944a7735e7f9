import { test } from 'node:test'
import assert from 'node:assert/strict'
import { generateNodeKey } from '../identity/index.ts'
import { matchOffers } from './matchOffers.ts'
import { createOffer } from './offer.ts'
import type { OfferTerms } from './offer.ts'

const terms = (runtimes: OfferTerms['runtimes'], memoryGiB: number, speed?: number): OfferTerms =>
  ({ chainId: 31337, runtimes, cores: 2, memoryBytes: memoryGiB * 1024 ** 3, cpuModel: 'x', ...(speed === undefined ? {} : { speed }), pricePerTaskWei: '0', addrs: [] })

test('a docker job matches only offers that list docker, and memory and speed constraints hold', async () => {
  const [wasiOnly, both, small] = await Promise.all([generateNodeKey(), generateNodeKey(), generateNodeKey()])
  const offers = [
    createOffer(wasiOnly, terms(['wasi'], 8), 60_000),
    createOffer(both, terms(['wasi', 'docker'], 8, 300), 60_000),
    createOffer(small, terms(['wasi', 'docker'], 1), 60_000),
  ]
  const peers = (runtime: string, minMemoryBytes?: number, minSpeed?: number) => matchOffers(offers, { runtime, minMemoryBytes, minSpeed }).map(offer => offer.body.peerId)
  assert.deepEqual(peers('docker').sort(), [both, small].map(key => key.peerId.toString()).sort())
  assert.deepEqual(peers('docker', 4 * 1024 ** 3), [both.peerId.toString()])
  assert.equal(peers('wasi').length, 3)
  assert.deepEqual(peers('wasi', undefined, 200), [both.peerId.toString()], 'only one offer states a speed, and it is fast enough')
})

test('minGpuGflops takes only offers whose measured GPU is fast enough', async () => {
  const [fast, slow, unmeasured] = await Promise.all([generateNodeKey(), generateNodeKey(), generateNodeKey()])
  const gpu = { vendor: 'v', architecture: 'a', device: 'd', description: '', maxBufferBytes: 1 << 27, maxWorkgroupsPerDimension: 65535 }
  const offers = [
    createOffer(fast, { ...terms(['webgpu'], 8), gpu: { ...gpu, gflops: 7600 } }, 60_000),
    createOffer(slow, { ...terms(['webgpu'], 8), gpu: { ...gpu, gflops: 0.03 } }, 60_000),
    createOffer(unmeasured, { ...terms(['webgpu'], 8), gpu }, 60_000),
  ]
  const peers = (minGpuGflops?: number) => matchOffers(offers, { runtime: 'webgpu', minGpuGflops }).map(offer => offer.body.peerId).sort()
  assert.deepEqual(peers(), [fast, slow, unmeasured].map(key => key.peerId.toString()).sort())
  assert.deepEqual(peers(1000), [fast.peerId.toString()])
  assert.deepEqual(peers(0.01), [fast, slow].map(key => key.peerId.toString()).sort(), 'an offer without a measured speed never meets a floor')
})
