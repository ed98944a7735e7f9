import { createHash } from 'node:crypto'
import { prepareStatements, transaction } from '../util/index.ts'
import type { PreparedStatements } from '../util/index.ts'
import type { TaskResultsBody } from '../net/index.ts'
import type { DatabaseSync } from 'node:sqlite'

const SCHEMA = `
CREATE TABLE IF NOT EXISTS signed_batches (
  hash TEXT PRIMARY KEY,
  peer_id TEXT NOT NULL,
  body TEXT NOT NULL,
  signature TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS evidence (
  job_id TEXT NOT NULL,
  idx INTEGER NOT NULL,
  attempt INTEGER NOT NULL,
  peer_id TEXT NOT NULL,
  batch_hash TEXT NOT NULL REFERENCES signed_batches(hash),
  PRIMARY KEY (job_id, idx, attempt)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS evidence_by_peer ON evidence (peer_id);
`

const STATEMENTS = {
  insertBatch: 'INSERT OR IGNORE INTO signed_batches (hash, peer_id, body, signature) VALUES (?, ?, ?, ?)',
  insertEvidence: 'INSERT OR IGNORE INTO evidence (job_id, idx, attempt, peer_id, batch_hash) VALUES (?, ?, ?, ?, ?)',
  evidenceOf: `SELECT e.job_id, e.idx, e.attempt, b.body, b.signature FROM evidence e JOIN signed_batches b ON b.hash = e.batch_hash
    WHERE e.peer_id = ? ORDER BY e.job_id, e.idx, e.attempt LIMIT ?`,
}

/** A result judged wrong, with the provider's signed batch it came in: proof anyone can check. */
export interface Evidence {
  readonly jobId: string
  readonly idx: number
  readonly attempt: number
  readonly batch: { readonly body: TaskResultsBody, readonly signature: string }
}

/** Results judged wrong, kept with the signed batches that prove what their providers sent (in SQLite). */
export class EvidenceStore {
  private readonly db: DatabaseSync
  private readonly statements: PreparedStatements<typeof STATEMENTS>

  constructor (db: DatabaseSync) {
    this.db = db
    db.exec(SCHEMA)
    this.statements = prepareStatements(db, STATEMENTS)
  }

  /**
   * Keeps a result judged wrong as proof: the provider's whole signed batch (anyone can check the
   * signature against its PeerId) and which result in it was wrong. Batches are stored once.
   */
  keep (jobId: string, idx: number, attempt: number, peerId: string, batch: { body: TaskResultsBody, signature: string }): void {
    const body = JSON.stringify(batch.body)
    const hash = createHash('sha256').update(body).digest('hex')
    transaction(this.db, () => {
      this.statements.insertBatch.run(hash, peerId, body, batch.signature)
      this.statements.insertEvidence.run(jobId, idx, attempt, peerId, hash)
    })
  }

  /** The results of `peerId` judged wrong, each with the signed batch it came in. */
  of (peerId: string, limit = 100): Evidence[] {
    return this.statements.evidenceOf.all(peerId, limit).map(row => ({
      jobId: String(row.job_id),
      idx: Number(row.idx),
      attempt: Number(row.attempt),
      batch: { body: JSON.parse(String(row.body)) as TaskResultsBody, signature: String(row.signature) },
    }))
  }
}
