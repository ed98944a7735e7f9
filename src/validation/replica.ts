/** What the requester keeps of a task's outputs and of each replica, as validation reads them. */

export interface StoredOutput {
  readonly kind: 'stdout' | 'stderr' | 'file'
  readonly path: string
  readonly cid: string
  readonly size: number
}

export interface ReturnedReplica {
  readonly attempt: number
  readonly peerId: string
  /** The provider's Ethereum address: what it is paid at, if the replica is accepted. */
  readonly address: string
  /** Hash of the outcome (exit code, stdout and /out by CID, or a deterministic failure). */
  readonly outcomeHash: string
  readonly status: 'exit' | 'failed'
  readonly exitCode: number | null
  readonly reason: string | null
}

/** An output as a result returned it: its reference, and its bytes when they came inline. */
export type ReturnedOutput = StoredOutput & { inline?: Uint8Array }
