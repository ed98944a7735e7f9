import { transaction } from '../util/index.ts'
import type { DatabaseSync } from 'node:sqlite'

const SCHEMA = `
CREATE TABLE IF NOT EXISTS jobs (
  id TEXT PRIMARY KEY,
  spec TEXT NOT NULL,
  spec_hash TEXT NOT NULL,
  state TEXT NOT NULL,
  task_count INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  finished_at INTEGER,
  finished_count INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS tasks (
  job_id TEXT NOT NULL REFERENCES jobs(id),
  idx INTEGER NOT NULL,
  definition TEXT NOT NULL,
  state TEXT NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  accepted_attempt INTEGER,
  reason TEXT,
  message TEXT,
  finished_seq INTEGER,
  PRIMARY KEY (job_id, idx)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS attempts (
  job_id TEXT NOT NULL,
  idx INTEGER NOT NULL,
  attempt INTEGER NOT NULL,
  peer_id TEXT NOT NULL,
  address TEXT NOT NULL,
  state TEXT NOT NULL,
  dispatched_at INTEGER NOT NULL,
  finished_at INTEGER,
  status TEXT,
  exit_code INTEGER,
  reason TEXT,
  message TEXT,
  wall_ms REAL,
  memory_bytes INTEGER,
  output_hash TEXT,
  verdict TEXT,
  PRIMARY KEY (job_id, idx, attempt)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS outputs (
  job_id TEXT NOT NULL,
  idx INTEGER NOT NULL,
  attempt INTEGER NOT NULL,
  kind TEXT NOT NULL,
  path TEXT NOT NULL,
  cid TEXT NOT NULL,
  size INTEGER NOT NULL,
  inline BLOB,
  PRIMARY KEY (job_id, idx, attempt, kind, path)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS outputs_by_cid ON outputs (cid);
`

/** Tasks by the order they ended in: what the results API pages through. */
const FINISH_INDEX = 'CREATE INDEX IF NOT EXISTS tasks_by_finish ON tasks (job_id, finished_seq)'

/**
 * Tasks per job and state, kept by triggers on the tasks table as tasks change state (and counted
 * by the store when a job's tasks are inserted): a job's status reads a handful of rows instead
 * of counting all its tasks (a COUNT over 100k tasks took 35-45 ms).
 */
const TASK_COUNTS = `
CREATE TABLE IF NOT EXISTS task_counts (
  job_id TEXT NOT NULL,
  state TEXT NOT NULL,
  n INTEGER NOT NULL,
  PRIMARY KEY (job_id, state)
) WITHOUT ROWID;
CREATE TRIGGER IF NOT EXISTS task_counts_delete AFTER DELETE ON tasks BEGIN
  UPDATE task_counts SET n = n - 1 WHERE job_id = OLD.job_id AND state = OLD.state;
END;
CREATE TRIGGER IF NOT EXISTS task_counts_update AFTER UPDATE OF job_id, state ON tasks
  WHEN OLD.state IS NOT NEW.state OR OLD.job_id IS NOT NEW.job_id BEGIN
  UPDATE task_counts SET n = n - 1 WHERE job_id = OLD.job_id AND state = OLD.state;
  INSERT INTO task_counts (job_id, state, n) VALUES (NEW.job_id, NEW.state, 1)
    ON CONFLICT (job_id, state) DO UPDATE SET n = n + 1;
END;
`

/**
 * Tasks done per job and provider (whose attempt was accepted), kept by a trigger as tasks end done:
 * a job's status lists them without reading its tasks (the dashboard counted them from the tasks
 * it had loaded, the first 5,000 of a larger job).
 */
const PROVIDER_COUNTS = `
CREATE TABLE IF NOT EXISTS provider_counts (
  job_id TEXT NOT NULL,
  peer_id TEXT NOT NULL,
  done INTEGER NOT NULL,
  PRIMARY KEY (job_id, peer_id)
) WITHOUT ROWID;
CREATE TRIGGER IF NOT EXISTS provider_counts_done AFTER UPDATE OF state ON tasks
  WHEN NEW.state = 'done' AND OLD.state IS NOT 'done' BEGIN
  INSERT INTO provider_counts (job_id, peer_id, done)
    SELECT job_id, peer_id, 1 FROM attempts WHERE job_id = NEW.job_id AND idx = NEW.idx AND attempt = NEW.accepted_attempt
    ON CONFLICT (job_id, peer_id) DO UPDATE SET done = done + 1;
END;
`

/**
 * A job's tasks are inserted as it is created and counted then, by the store, in the same
 * transaction (see JobStore.createJob): a trigger run for each of a million inserted rows took 0.5
 * of the 1.3 s that creating them took. Databases made before had that trigger: it goes.
 */
const COUNT_INSERTS_IN_THE_STORE = 'DROP TRIGGER IF EXISTS task_counts_insert'

/**
 * Creates a table of counts kept by triggers (`schema`: the table and its triggers) where it is
 * missing, and fills it from what the database holds (`fill`), in one transaction, so no change
 * falls between the fill and the triggers.
 */
function addCounts (db: DatabaseSync, table: string, schema: string, fill: string): void {
  transaction(db, () => {
    if (db.prepare('SELECT 1 FROM sqlite_master WHERE type = \'table\' AND name = ?').get(table) !== undefined) return
    db.exec(`${schema}; ${fill};`)
  })
}

/** Creates the job store's tables, and brings those of older versions up to date. */
export function migrateJobStore (db: DatabaseSync): void {
  db.exec(SCHEMA)
  // Databases made before task_counts: filled from the tasks.
  addCounts(db, 'task_counts', TASK_COUNTS, 'INSERT INTO task_counts (job_id, state, n) SELECT job_id, state, count(*) FROM tasks GROUP BY job_id, state')
  db.exec(COUNT_INSERTS_IN_THE_STORE)
  // Databases made before provider_counts: filled from the accepted attempts.
  addCounts(db, 'provider_counts', PROVIDER_COUNTS, `INSERT INTO provider_counts (job_id, peer_id, done)
    SELECT t.job_id, a.peer_id, count(*) FROM tasks t JOIN attempts a ON a.job_id = t.job_id AND a.idx = t.idx AND a.attempt = t.accepted_attempt
    WHERE t.state = 'done' GROUP BY t.job_id, a.peer_id`)
  const columnsOf = (table: string) => new Set(db.prepare(`PRAGMA table_info(${table})`).all().map(row => String(row.name)))
  // Databases made before replication lack the two columns it needs.
  // Databases made before range jobs kept one template (TaskTemplate JSON) instead of each task's definition.
  if (!columnsOf('jobs').has('template')) db.exec('ALTER TABLE jobs ADD COLUMN template TEXT')
  const attempts = columnsOf('attempts')
  for (const column of ['output_hash', 'verdict']) if (!attempts.has(column)) db.exec(`ALTER TABLE attempts ADD COLUMN ${column} TEXT`)
  // Databases made before results were paged in finishing order: tasks that had ended get numbers in index order.
  if (!columnsOf('tasks').has('finished_seq')) {
    db.exec(`ALTER TABLE tasks ADD COLUMN finished_seq INTEGER;
      ALTER TABLE jobs ADD COLUMN finished_count INTEGER NOT NULL DEFAULT 0;
      UPDATE tasks SET finished_seq = idx + 1 WHERE state IN ('done', 'failed', 'cancelled');
      UPDATE jobs SET finished_count = task_count;`)
  }
  db.exec(FINISH_INDEX)
}
