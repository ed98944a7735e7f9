import type { SignedOffer } from '../net/index.ts'

/** What a job needs from a provider. */
export interface OfferRequirements {
  readonly runtime: string
  readonly minCores?: number
  readonly minMemoryBytes?: number
  /** Lowest single-core speed score; offers without one do not qualify. */
  readonly minSpeed?: number
  /** Lowest measured GPU speed, in GFLOP/s; offers without a measured GPU do not qualify. */
  readonly minGpuGflops?: number
  /** Highest acceptable price per task, in wei. */
  readonly maxPricePerTaskWei?: bigint
  /** Only these providers (PeerIds), when given. */
  readonly allowPeers?: readonly string[]
  /** Never these providers (PeerIds). */
  readonly excludePeers?: ReadonlySet<string>
}

/** The offers that meet the requirements, cheapest first, then the most cores. */
export function matchOffers (offers: readonly SignedOffer[], requirements: OfferRequirements): SignedOffer[] {
  return offers
    .filter(({ body }) =>
      body.runtimes.includes(requirements.runtime as never) &&
      body.cores >= (requirements.minCores ?? 1) &&
      body.memoryBytes >= (requirements.minMemoryBytes ?? 0) &&
      (requirements.minSpeed === undefined || (body.speed ?? 0) >= requirements.minSpeed) &&
      (requirements.minGpuGflops === undefined || (body.gpu?.gflops ?? 0) >= requirements.minGpuGflops) &&
      (requirements.maxPricePerTaskWei === undefined || BigInt(body.pricePerTaskWei) <= requirements.maxPricePerTaskWei) &&
      (requirements.allowPeers === undefined || requirements.allowPeers.includes(body.peerId)) &&
      requirements.excludePeers?.has(body.peerId) !== true)
    .sort((a, b) => {
      const price = BigInt(a.body.pricePerTaskWei) - BigInt(b.body.pricePerTaskWei)
      return price !== 0n ? (price < 0n ? -1 : 1) : b.body.cores - a.body.cores
    })
}
