import type { LedgerClient } from './ledgerClient.ts'

/** Whether the node's chain answers, as last seen. */
export interface ChainHealth {
  readonly reachable: boolean
  /** The latest head seen (decimal), null before the first answer. */
  readonly head: string | null
  /** When the chain stopped answering (ms since epoch), null while it answers. */
  readonly unreachableSince: number | null
  readonly error: string | null
}

export interface ChainWatch {
  status(): ChainHealth
  stop(): void
}

/**
 * Asks the chain for its head every `everyMs`, so `node status` can say when the RPC endpoint is
 * down. The node keeps computing meanwhile: what needs the chain retries by itself.
 */
export function watchChain (client: LedgerClient, options: { everyMs?: number } = {}): ChainWatch {
  let health: ChainHealth = { reachable: true, head: null, unreachableSince: null, error: null }
  const check = async () => {
    try {
      health = { reachable: true, head: String(await client.public.getBlockNumber({ cacheTime: 0 })), unreachableSince: null, error: null }
    } catch (error) {
      health = { ...health, reachable: false, unreachableSince: health.unreachableSince ?? Date.now(), error: (error as Error).message.split('\n')[0]! }
    }
  }
  void check()
  const timer = setInterval(() => void check(), options.everyMs ?? 5_000)
  timer.unref()
  return {
    status: () => health,
    stop: () => clearInterval(timer),
  }
}
