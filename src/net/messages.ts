/**
 * Every conun wire message, in one place. Each has a `type`, a version `v` and a zod schema;
 * messages that carry commitments (offers, agreements, results) are signed by the sender's node key
 * over a domain string and the body, and the body names the chain id and job, so that a signature
 * cannot be replayed for another kind of message, job or chain.
 */
import { z } from 'zod'

export const PROTOCOL_OFFER = '/conun/offer/1.0.0'
/** A node's whole offer book, asked for by a node that just joined through it. */
export const PROTOCOL_OFFER_BOOK = '/conun/offer-book/1.0.0'
export const PROTOCOL_TASK = '/conun/task/1.0.0'
export const TOPIC_OFFERS = 'conun/offers/1'

/** Upper bounds on one frame, per protocol: anything longer is refused before it is parsed. */
export const MAX_OFFER_FRAME_BYTES = 64 * 1024
export const MAX_TASK_FRAME_BYTES = 8 * 1024 * 1024

/**
 * Outputs up to this size travel inside the result message; larger ones go through storage, where
 * the requester fetches them by CID. One bitswap round trip per output costs far more than 64 KiB
 * on the task stream.
 */
export const INLINE_OUTPUT_MAX_BYTES = 64 * 1024

/**
 * Paid jobs: how many results a provider delivers to a requester beyond what it runs before it is
 * paid for them for sure, that is by a receipt within its payment line's reservation in the escrow. Beyond that it
 * holds the requester's tasks until receipts and reservations catch up, so a requester that never
 * pays gets at most this many results (plus what was running) from a provider. Requesters reserve
 * well within it (see EscrowSettlement).
 */
export const MAX_UNPAID_RESULTS = 32

/** Signing domains, one per signed message kind and version. */
export const SIGNING_DOMAIN = {
  offer: 'conun/offer/1',
  agreementProposal: 'conun/agreement.propose/2',
  agreementAcceptance: 'conun/agreement.accept/1',
  results: 'conun/task.results/1',
} as const

const hex = (bytes?: number) => z.string().regex(bytes === undefined ? /^0x[0-9a-fA-F]*$/ : new RegExp(`^0x[0-9a-fA-F]{${bytes * 2}}$`))
const address = hex(20)
const signature = hex(65)
const cid = z.string().min(8).max(128).regex(/^[a-zA-Z0-9]+$/)
const peerId = z.string().min(8).max(128).regex(/^[a-zA-Z0-9]+$/)
const id = z.string().min(1).max(64).regex(/^[A-Za-z0-9_.:-]+$/)
const count = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER)
const base64 = z.string().max(MAX_TASK_FRAME_BYTES).regex(/^[A-Za-z0-9+/]*={0,2}$/)
/** Token amounts in wei as decimal strings: JSON numbers cannot hold 18-decimal values exactly. */
const wei = z.string().regex(/^\d{1,78}$/)

export const runtimeName = z.enum(['wasi', 'docker', 'webgpu'])

export const taskLimits = z.object({
  memoryBytes: z.number().int().min(65536).max(4 * 1024 ** 3),
  timeoutMs: z.number().int().min(1).max(24 * 3600 * 1000),
  outputBytes: z.number().int().min(0).max(1024 ** 3),
})

// ---- offers: /conun/offer/1.0.0 (request → reply) and gossip on TOPIC_OFFERS ----

export const offerBody = z.object({
  peerId,
  provider: address,
  /**
   * Where the provider is paid when not at `provider` (its key's address): a browser tab's session
   * key lives no longer than the tab, so its earnings go to a wallet its user names (added in offer
   * v1 as an optional field: older peers ignore it and pay `provider`).
   */
  payout: address.optional(),
  chainId: count,
  runtimes: z.array(runtimeName).min(1).max(8),
  cores: z.number().int().min(1).max(4096),
  memoryBytes: count,
  cpuModel: z.string().max(200),
  /** Single-core speed score the provider measured (millions of sieve steps per second). */
  speed: z.number().int().min(0).max(1_000_000).optional(),
  /** The adapter behind a `webgpu` runtime (added in offer v1 as an optional field: older peers ignore it). */
  gpu: z.object({
    vendor: z.string().max(200),
    architecture: z.string().max(200),
    device: z.string().max(200),
    description: z.string().max(200),
    maxBufferBytes: count,
    maxWorkgroupsPerDimension: count,
    /** GFLOP/s of an f32 matmul the provider measured on it at start (absent: not measured). */
    gflops: z.number().min(0).max(10_000_000).optional(),
  }).optional(),
  pricePerTaskWei: wei,
  /** Where to dial the provider, for requesters that only heard the offer through gossip. */
  addrs: z.array(z.string().max(512)).max(32),
  issuedAt: count,
  expiresAt: count,
})
export type OfferBody = z.infer<typeof offerBody>

export const signedOffer = z.object({ type: z.literal('offer'), v: z.literal(1), body: offerBody, signature })
export type SignedOffer = z.infer<typeof signedOffer>

export const offerRequest = z.object({ type: z.literal('offer.request'), v: z.literal(1) })
export type OfferRequest = z.infer<typeof offerRequest>

/** Asks for every offer the peer holds: it answers with them one frame each, then closes the stream. */
export const offerBookRequest = z.object({ type: z.literal('offer.book.request'), v: z.literal(1) })

// ---- task sessions: /conun/task/1.0.0, one long-lived stream per (job, provider) ----

export const agreementProposalBody = z.object({
  agreementId: id,
  jobId: id,
  chainId: count,
  requester: address,
  provider: address,
  /** keccak256 of the job's canonical spec, with its code and input CIDs. */
  specHash: hex(32),
  runtime: runtimeName,
  limits: taskLimits,
  /** How many tasks the requester may have outstanding with this provider at once. */
  maxInFlight: z.number().int().min(1).max(4096),
  pricePerTaskWei: wei,
  /**
   * The escrow whose payment line from the requester pays this provider; null for a free job (price 0).
   * A job is not stored there: `jobKey` is its id in the escrow's JobSettled event when it is settled.
   */
  escrow: z.object({
    address,
    jobKey: hex(32),
    /** What the requester means to spend on the job at most. */
    budgetWei: wei,
  }).nullable(),
  expiresAt: count,
})
export type AgreementProposalBody = z.infer<typeof agreementProposalBody>

export const agreementProposal = z.object({ type: z.literal('agreement.propose'), v: z.literal(3), body: agreementProposalBody, signature })
export type AgreementProposal = z.infer<typeof agreementProposal>

export const agreementAcceptanceBody = z.object({
  agreementId: id,
  jobId: id,
  chainId: count,
  provider: address,
  /** The provider may lower the window to what it can hold. */
  maxInFlight: z.number().int().min(1).max(4096),
})
export type AgreementAcceptanceBody = z.infer<typeof agreementAcceptanceBody>

export const agreementAcceptance = z.object({ type: z.literal('agreement.accept'), v: z.literal(1), body: agreementAcceptanceBody, signature })
export type AgreementAcceptance = z.infer<typeof agreementAcceptance>

export const agreementRejection = z.object({
  type: z.literal('agreement.reject'),
  v: z.literal(1),
  agreementId: id,
  reason: z.string().max(1000),
})
export type AgreementRejection = z.infer<typeof agreementRejection>

export const contentRef = z.object({ cid, size: count })
export type ContentRef = z.infer<typeof contentRef>

export const taskAssignment = z.object({
  taskId: id,
  attempt: z.number().int().min(1).max(1000),
  module: contentRef,
  args: z.array(z.string().max(64 * 1024)).max(1024),
  env: z.record(z.string().max(256), z.string().max(64 * 1024)),
  /** Small stdin inline (base64); large stdin by content address. */
  stdin: z.union([z.object({ inline: base64 }), contentRef]).optional(),
  inputs: z.array(z.object({ name: z.string().min(1).max(1024), cid, size: count })).max(1024),
  limits: taskLimits,
})
export type TaskAssignment = z.infer<typeof taskAssignment>

export const taskAssign = z.object({ type: z.literal('task.assign'), v: z.literal(1), tasks: z.array(taskAssignment).min(1).max(4096) })
export type TaskAssign = z.infer<typeof taskAssign>

/**
 * The requester's cumulative receipt, sent during a paid job: the total it owes this provider on
 * their payment line so far, over all its jobs, signed as EIP-712 typed data that the escrow
 * contract pays out on `claim`, up to what the line has reserved (see src/ledger).
 */
export const receiptBody = z.object({
  agreementId: id,
  jobId: id,
  chainId: count,
  escrow: address,
  requester: address,
  provider: address,
  cumulativeWei: wei,
})
export type ReceiptBody = z.infer<typeof receiptBody>

export const taskReceipt = z.object({ type: z.literal('task.receipt'), v: z.literal(3), body: receiptBody, signature })
export type TaskReceipt = z.infer<typeof taskReceipt>

export const taskCancel = z.object({ type: z.literal('task.cancel'), v: z.literal(1), taskIds: z.array(id).min(1).max(4096) })
export type TaskCancel = z.infer<typeof taskCancel>

export const taskStarted = z.object({ type: z.literal('task.started'), v: z.literal(1), taskIds: z.array(id).min(1).max(4096) })
export type TaskStarted = z.infer<typeof taskStarted>

/** An output: its content address and size, and the bytes themselves when small. */
export const outputRef = z.object({ cid, size: count, inline: base64.optional() })
export type OutputRef = z.infer<typeof outputRef>

/**
 * Why an attempt failed. Providers report the sandbox's reasons and fetch-failed; the requester
 * adds invalid-output when what came back does not match what the provider signed, and no-quorum
 * when replicas never agreed.
 */
export const failureReason = z.enum(['timeout', 'memory-limit', 'output-limit', 'trap', 'invalid-module', 'invalid-image', 'cancelled', 'given-back', 'internal', 'fetch-failed', 'invalid-output', 'no-quorum'])
export type FailureReason = z.infer<typeof failureReason>

export const taskResult = z.object({
  taskId: id,
  attempt: z.number().int().min(1).max(1000),
  status: z.enum(['exit', 'failed']),
  exitCode: z.number().int().min(0).max(2 ** 32).optional(),
  reason: failureReason.optional(),
  message: z.string().max(4000).optional(),
  stdout: outputRef,
  stderr: outputRef,
  files: z.array(outputRef.extend({ path: z.string().min(1).max(1024) })).max(4096),
  usage: z.object({ wallMs: z.number().nonnegative(), memoryBytes: count }),
}).refine(r => (r.status === 'exit') === (r.exitCode !== undefined) && (r.status === 'failed') === (r.reason !== undefined),
  { message: 'an exit result has an exitCode and no reason; a failed result has a reason' })
export type TaskResult = z.infer<typeof taskResult>

/** Results travel in signed batches: one signature covers every result a provider finished together. */
export const taskResultsBody = z.object({
  agreementId: id,
  jobId: id,
  chainId: count,
  provider: address,
  results: z.array(taskResult).min(1).max(4096),
})
export type TaskResultsBody = z.infer<typeof taskResultsBody>

export const taskResults = z.object({ type: z.literal('task.results'), v: z.literal(1), body: taskResultsBody, signature })
export type TaskResults = z.infer<typeof taskResults>

/** Sent before a peer closes a stream because of what it received, so the other side can say why. */
export const protocolError = z.object({
  type: z.literal('error'),
  v: z.literal(1),
  code: z.string().max(64),
  message: z.string().max(2000),
})
export type ProtocolError = z.infer<typeof protocolError>

// ---- a session outlives its stream: it resumes on a new one (a relay went away, or a direct
// connection replaced a relayed one) ----

const taskAttempt = z.object({ taskId: id, attempt: z.number().int().min(1).max(1000) })
export type TaskAttempt = z.infer<typeof taskAttempt>

/**
 * The first message of a new stream that carries on an agreed session. Only the requester that
 * proposed the agreement may send it (the stream's authenticated peer is checked). `outstanding`:
 * the attempts it still waits for, so the provider can send again what a broken stream lost.
 */
export const sessionResume = z.object({ type: z.literal('session.resume'), v: z.literal(1), agreementId: id, outstanding: z.array(taskAttempt).max(4096) })
export type SessionResume = z.infer<typeof sessionResume>

/** The provider carries on; `lost`: outstanding attempts it neither runs nor has a result for (the requester assigns them again). */
export const sessionResumed = z.object({ type: z.literal('session.resumed'), v: z.literal(1), agreementId: id, lost: z.array(taskAttempt).max(4096) })
export type SessionResumed = z.infer<typeof sessionResumed>

/** The requester is done with the session: the provider drops its tasks now, instead of waiting for a resume. */
export const sessionEnd = z.object({ type: z.literal('session.end'), v: z.literal(1) })

/** A heartbeat inside the session: the provider answers at once with the same nonce. */
export const sessionPing = z.object({ type: z.literal('session.ping'), v: z.literal(1), nonce: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER) })
export const sessionPong = z.object({ type: z.literal('session.pong'), v: z.literal(1), nonce: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER) })

/** What a requester may send on a task session, and what a provider may send back. */
export const toProvider = z.discriminatedUnion('type', [agreementProposal, sessionResume, taskAssign, taskCancel, taskReceipt, sessionEnd, sessionPing])
export type ToProvider = z.infer<typeof toProvider>
export const toRequester = z.discriminatedUnion('type', [agreementAcceptance, agreementRejection, sessionResumed, taskStarted, taskResults, sessionPong, protocolError])
export type ToRequester = z.infer<typeof toRequester>
export const offerMessage = z.discriminatedUnion('type', [offerRequest, signedOffer])
export type OfferMessage = z.infer<typeof offerMessage>
export const offerBookMessage = z.discriminatedUnion('type', [offerBookRequest, signedOffer])
