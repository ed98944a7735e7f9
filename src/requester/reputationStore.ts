import type { RequesterEvent } from './requesterEvents.ts'
import { prepareStatements } from '../util/index.ts'
import type { PreparedStatements } from '../util/index.ts'
import type { DatabaseSync } from 'node:sqlite'

/** What this requester has seen of one provider, across all its jobs. */
export interface ProviderReputation {
  readonly peerId: string
  /** Results that agreed with the canonical outcome (without replication: every accepted result). */
  readonly valid: number
  /** Results that disagreed with the quorum, or whose outputs did not match what the provider signed. */
  readonly invalid: number
  /** Attempts that ran out of time, missed their deadline, or lost their provider. */
  readonly timeouts: number
  /** Attempts that failed through the provider (fetching, internal errors). */
  readonly errors: number
  /** Valid results in a row since the last problem. */
  readonly streak: number
  readonly lastSeen: number
  /** Until when the provider gets no work from this node (ms since the epoch), if blacklisted. */
  readonly blacklistedUntil: number | null
}

/** A provider with at least this many invalid results, making up more than this share, is blacklisted. */
const BLACKLIST_MIN_INVALID = 3
const BLACKLIST_INVALID_RATE = 0.2
const BLACKLIST_MS = 3_600_000

const TIMEOUT_REASONS = new Set(['timeout', 'deadline-missed', 'provider-lost'])
const PROVIDER_ERROR_REASONS = new Set(['fetch-failed', 'internal'])

const SCHEMA = `
CREATE TABLE IF NOT EXISTS reputation (
  peer_id TEXT PRIMARY KEY,
  valid INTEGER NOT NULL DEFAULT 0,
  invalid INTEGER NOT NULL DEFAULT 0,
  timeouts INTEGER NOT NULL DEFAULT 0,
  errors INTEGER NOT NULL DEFAULT 0,
  streak INTEGER NOT NULL DEFAULT 0,
  last_seen INTEGER NOT NULL,
  blacklisted_until INTEGER
) WITHOUT ROWID;
`

/** Counts one more outcome of a kind, and moves the provider's streak. */
const bump = (column: string, streak: string) => `UPDATE reputation SET ${column} = ${column} + 1, streak = ${streak}, last_seen = ? WHERE peer_id = ?`

const STATEMENTS = {
  touch: 'INSERT INTO reputation (peer_id, last_seen) VALUES (?, ?) ON CONFLICT (peer_id) DO UPDATE SET last_seen = excluded.last_seen',
  valid: bump('valid', 'streak + 1'),
  invalid: bump('invalid', '0'),
  timeout: bump('timeouts', '0'),
  error: bump('errors', '0'),
  get: 'SELECT * FROM reputation WHERE peer_id = ?',
  all: 'SELECT * FROM reputation ORDER BY peer_id',
  blacklist: 'UPDATE reputation SET blacklisted_until = ? WHERE peer_id = ?',
  blacklisted: 'SELECT peer_id FROM reputation WHERE blacklisted_until > ?',
}

/**
 * Providers' track record, kept in the requester's SQLite database and fed by the scheduler's
 * events: every outcome counts for or against the provider that produced it. Failures that are the
 * task's own (a trap, a memory or output cap) count against nobody.
 */
export class ReputationStore {
  private readonly statements: PreparedStatements<typeof STATEMENTS>

  constructor (db: DatabaseSync) {
    db.exec(SCHEMA)
    this.statements = prepareStatements(db, STATEMENTS)
  }

  /** Counts what a scheduler event says about a provider. */
  observe (event: RequesterEvent, now = Date.now()): void {
    if (event.type !== 'result.judged' && event.type !== 'task.retry' && event.type !== 'task.failed') return
    const peerId = event.provider
    if (peerId === null) return
    this.statements.touch.run(peerId, now)
    if (event.type === 'result.judged') {
      if (event.verdict === 'valid') this.statements.valid.run(now, peerId)
      else if (event.verdict === 'invalid') this.punishInvalid(peerId, now)
    } else if (TIMEOUT_REASONS.has(event.reason)) this.statements.timeout.run(now, peerId)
    else if (PROVIDER_ERROR_REASONS.has(event.reason)) this.statements.error.run(now, peerId)
  }

  get (peerId: string): ProviderReputation | undefined {
    const row = this.statements.get.get(peerId)
    return row === undefined ? undefined : toReputation(row)
  }

  all (): ProviderReputation[] {
    return this.statements.all.all().map(toReputation)
  }

  /** PeerIds that get no work now. */
  blacklisted (now = Date.now()): Set<string> {
    return new Set(this.statements.blacklisted.all(now).map(row => String(row.peer_id)))
  }

  private punishInvalid (peerId: string, now: number): void {
    this.statements.invalid.run(now, peerId)
    const reputation = this.get(peerId)!
    if (reputation.invalid >= BLACKLIST_MIN_INVALID && reputation.invalid / (reputation.valid + reputation.invalid) > BLACKLIST_INVALID_RATE) {
      this.statements.blacklist.run(now + BLACKLIST_MS, peerId)
    }
  }
}

function toReputation (row: Record<string, unknown>): ProviderReputation {
  return {
    peerId: String(row.peer_id),
    valid: Number(row.valid),
    invalid: Number(row.invalid),
    timeouts: Number(row.timeouts),
    errors: Number(row.errors),
    streak: Number(row.streak),
    lastSeen: Number(row.last_seen),
    blacklistedUntil: row.blacklisted_until === null ? null : Number(row.blacklisted_until),
  }
}
