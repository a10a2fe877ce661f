import { mkdirSync } from 'node:fs'
import { hostname } from 'node:os'
import { dirname } from 'node:path'
import type BetterSqlite3 from 'better-sqlite3'
import { NexflowError } from '../../errors.js'
import type { StoredAnswer, StoreWriteResults } from './store-writer-messages.js'
import { runOfRow, type NewRun, type RunEnd, type RunRow } from './run-store.js'

const SCHEMA = `
CREATE TABLE IF NOT EXISTS nexflow_runs (
  id TEXT PRIMARY KEY,
  workflow TEXT NOT NULL,
  status TEXT NOT NULL,
  inputs TEXT NOT NULL,
  request_id TEXT,
  outputs TEXT,
  error TEXT,
  created_at INTEGER NOT NULL,
  started_at INTEGER,
  finished_at INTEGER
);
CREATE INDEX IF NOT EXISTS nexflow_runs_status ON nexflow_runs (status, finished_at);
CREATE INDEX IF NOT EXISTS nexflow_runs_created ON nexflow_runs (created_at);
CREATE TABLE IF NOT EXISTS nexflow_idempotency (
  key TEXT PRIMARY KEY,
  body_hash TEXT NOT NULL,
  state TEXT NOT NULL,
  status INTEGER,
  body TEXT,
  expires_at INTEGER NOT NULL,
  locked_until INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS nexflow_owner (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  pid INTEGER NOT NULL,
  host TEXT NOT NULL
);
`

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/**
 * Every write of the embedded store (`.nexflow/nexflow.db`), on the one connection that writes
 * it. It runs in the store's writer thread (workers/store/writer.ts): a row write with its WAL
 * commit costs 25-70 us of CPU, which on the server's thread came straight out of its requests
 * per second. The server's thread only reads the file (see sqlite-store.ts). Synchronous: the
 * thread applies one write after another, in the order they were posted.
 */
export class SqliteWrites {
  readonly #db: BetterSqlite3.Database
  /** Statements prepared once: parsing SQL per request showed in bench/durability.ts. */
  readonly #statements = new Map<string, BetterSqlite3.Statement>()

  private constructor(db: BetterSqlite3.Database) {
    this.#db = db
  }

  /** Opens (creating it and its tables if missing) and claims the store for this process. */
  static async open(path: string): Promise<SqliteWrites> {
    const { default: Database } = await import('better-sqlite3')
    try {
      mkdirSync(dirname(path), { recursive: true })
      const db = new Database(path)
      db.pragma('journal_mode = WAL')
      db.pragma('busy_timeout = 5000')
      db.pragma('synchronous = NORMAL')
      db.exec(SCHEMA)
      // A store written before runs kept their request id.
      if (!(db.pragma('table_info(nexflow_runs)') as { name: string }[]).some((column) => column.name === 'request_id')) db.exec('ALTER TABLE nexflow_runs ADD COLUMN request_id TEXT')
      claim(db, path)
      return new SqliteWrites(db)
    } catch (error) {
      if (error instanceof NexflowError) throw error
      throw new NexflowError('DURABILITY_UNAVAILABLE', `The run store ${path} cannot be opened: ${(error as Error).message}`, { cause: error, details: { path } })
    }
  }

  #prepare(sql: string): BetterSqlite3.Statement {
    let statement = this.#statements.get(sql)
    if (statement === undefined) {
      statement = this.#db.prepare(sql)
      this.#statements.set(sql, statement)
    }
    return statement
  }

  createRuns(runs: readonly NewRun[]): StoreWriteResults['createRuns'] {
    const insert = this.#prepare("INSERT INTO nexflow_runs (id, workflow, status, inputs, request_id, created_at) VALUES (?, ?, 'pending', ?, ?, ?)")
    this.#db.transaction(() => {
      for (const run of runs) insert.run(run.id, run.workflow, run.inputs, run.requestId ?? null, run.now)
    })()
    return undefined
  }

  markRunning(id: string, now: number, retry: boolean): StoreWriteResults['markRunning'] {
    const from = retry ? "('pending', 'running')" : "('pending')"
    return this.#prepare(`UPDATE nexflow_runs SET status = 'running', started_at = ? WHERE id = ? AND status IN ${from}`).run(now, id).changes === 1
  }

  returnToPending(id: string): StoreWriteResults['returnToPending'] {
    return this.#prepare("UPDATE nexflow_runs SET status = 'pending', started_at = NULL WHERE id = ? AND status = 'running'").run(id).changes === 1
  }

  finishRuns(ends: readonly { id: string; end: RunEnd; now: number }[]): StoreWriteResults['finishRuns'] {
    const finish = this.#prepare("UPDATE nexflow_runs SET status = ?, outputs = ?, error = ?, finished_at = ? WHERE id = ? AND status IN ('pending', 'running')")
    return this.#db.transaction(() =>
      ends.map(({ id, end, now }) => finish.run(end.status, end.outputs ?? null, end.error === undefined ? null : JSON.stringify(end.error), now, id).changes === 1),
    )()
  }

  cancelRun(id: string, now: number): StoreWriteResults['cancelRun'] {
    this.#prepare("UPDATE nexflow_runs SET status = 'cancelled', finished_at = ? WHERE id = ? AND status IN ('pending', 'running')").run(now, id)
    return undefined
  }

  recover(now: number): StoreWriteResults['recover'] {
    return this.#db.transaction(() => {
      const running = this.#prepare("SELECT id FROM nexflow_runs WHERE status = 'running'").all() as { id: string }[]
      this.#prepare("UPDATE nexflow_runs SET status = 'interrupted', finished_at = ? WHERE status = 'running'").run(now)
      const pending = (this.#prepare("SELECT * FROM nexflow_runs WHERE status = 'pending' ORDER BY created_at").all() as RunRow[]).map(runOfRow)
      // Keys held by requests of a process that is gone (stores written before keys were held in memory).
      this.#prepare("DELETE FROM nexflow_idempotency WHERE state = 'running'").run()
      return { interrupted: running.map((row) => row.id), pending }
    })()
  }

  prune(now: number, keepRunsMs: number): StoreWriteResults['prune'] {
    this.#prepare("DELETE FROM nexflow_runs WHERE status NOT IN ('pending', 'running') AND finished_at < ?").run(now - keepRunsMs)
    this.#prepare('DELETE FROM nexflow_idempotency WHERE expires_at <= ?').run(now)
    return undefined
  }

  /** The answers of keyed requests, in one transaction: one WAL commit for the batch. */
  storeAnswers(answers: readonly StoredAnswer[]): StoreWriteResults['storeAnswers'] {
    const store = this.#prepare("INSERT OR REPLACE INTO nexflow_idempotency (key, body_hash, state, status, body, expires_at, locked_until) VALUES (?, ?, 'done', ?, ?, ?, 0)")
    this.#db.transaction(() => {
      for (const answer of answers) store.run(answer.key, answer.bodyHash, answer.status, answer.body, answer.expiresAt)
    })()
    return undefined
  }

  /** Gives the store up: the next process to open it need not ask whether this one is alive. */
  close(): StoreWriteResults['close'] {
    this.#statements.clear()
    this.#db.prepare('DELETE FROM nexflow_owner WHERE pid = ?').run(process.pid)
    this.#db.close()
    return undefined
  }
}

/**
 * One live process per store: a second one's start would mark the first one's running runs
 * interrupted. A process that died (SIGKILL) leaves its row; its pid no longer answers.
 */
function claim(db: BetterSqlite3.Database, path: string): void {
  db.transaction(() => {
    const owner = db.prepare('SELECT pid, host FROM nexflow_owner WHERE id = 1').get() as { pid: number; host: string } | undefined
    if (owner !== undefined && owner.host === hostname() && owner.pid !== process.pid && alive(owner.pid)) {
      db.close()
      throw new NexflowError('DURABILITY_UNAVAILABLE', `The embedded run store ${path} is in use by another nexflow process (pid ${owner.pid}); one instance per root: for several, set durability.databaseUrl (PostgreSQL)`, {
        details: { path, pid: owner.pid },
      })
    }
    db.prepare('INSERT OR REPLACE INTO nexflow_owner (id, pid, host) VALUES (1, ?, ?)').run(process.pid, hostname())
  }).immediate()
}
