import { mkdirSync } from 'node:fs'
import { dirname } from 'node:path'
import { DatabaseSync } from 'node:sqlite'
import type { StatementSync } from 'node:sqlite'

/**
 * The node's SQLite database. WAL lets readers (the API) run beside the writer (the scheduler);
 * synchronous=NORMAL in WAL mode still survives a process kill (only power loss can drop the
 * latest transactions).
 */
export function openDatabase (path: string): DatabaseSync {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true })
  const db = new DatabaseSync(path)
  db.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000;')
  return db
}

/** Runs `work` in one transaction: all of it is stored, or none of it. */
export function transaction<T> (db: DatabaseSync, work: () => T): T {
  db.exec('BEGIN IMMEDIATE')
  try {
    const result = work()
    db.exec('COMMIT')
    return result
  } catch (error) {
    db.exec('ROLLBACK')
    throw error
  }
}

/** Statements prepared from a table of named SQL texts. */
export type PreparedStatements<Sql> = Record<keyof Sql, StatementSync>

/** Prepares named statements once; the result has exactly the names given, so no lookup can miss. */
export function prepareStatements<Sql extends Readonly<Record<string, string>>> (db: DatabaseSync, sql: Sql): PreparedStatements<Sql> {
  return Object.fromEntries(Object.entries(sql).map(([name, text]) => [name, db.prepare(text)])) as PreparedStatements<Sql>
}
