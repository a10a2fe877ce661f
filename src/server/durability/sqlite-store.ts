import { mkdirSync } from 'node:fs'
import { hostname } from 'node:os'
import { dirname } from 'node:path'
import type BetterSqlite3 from 'better-sqlite3'
import { NexflowError } from '../../errors.js'
import { judgeKey, type IdempotencyAnswer, type IdempotencyBegin, type IdempotencyClaim, type IdempotencyTimes, type NewRun, type RunEnd, type RunRecord, type RunStatus, type RunStore, type StoredKey } from './run-store.js'

interface RunRow {
  id: string
  workflow: string
  status: string
  inputs: string
  request_id: string | null
  outputs: string | null
  error: string | null
  created_at: number
  started_at: number | null
  finished_at: number | null
}

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

export function runOfRow(row: { id: string; workflow: string; status: string; inputs: string; request_id?: string | null; outputs: string | null; error: string | null; created_at: number | string; started_at: number | string | null; finished_at: number | string | null }): RunRecord {
  return {
    id: row.id,
    workflow: row.workflow,
    status: row.status as RunStatus,
    inputs: row.inputs,
    ...(row.request_id === null || row.request_id === undefined ? {} : { requestId: row.request_id }),
    ...(row.outputs === null ? {} : { outputs: row.outputs }),
    ...(row.error === null ? {} : { error: JSON.parse(row.error) as RunRecord['error'] }),
    createdAt: Number(row.created_at),
    ...(row.started_at === null ? {} : { startedAt: Number(row.started_at) }),
    ...(row.finished_at === null ? {} : { finishedAt: Number(row.finished_at) }),
  }
}

/** A synchronous call as a promise: a throw becomes a rejection, as from the PostgreSQL store. */
export function settled<T>(fn: () => T): Promise<T> {
  try {
    return Promise.resolve(fn())
  } catch (error) {
    return Promise.reject(error instanceof Error ? error : new Error(String(error)))
  }
}

/**
 * The embedded store: `.nexflow/nexflow.db` under the root, in WAL mode. better-sqlite3 is
 * synchronous, and each statement here touches one row by its key: microseconds, so it runs on
 * the server's thread rather than paying a hop to a worker.
 */
export class SqliteRunStore implements RunStore {
  readonly kind = 'sqlite'
  readonly #path: string
  #db: BetterSqlite3.Database | undefined
  /**
   * Keys whose first request is still running. They live in memory, not in the file: this store
   * has one process (see #claim), and a process that dies takes its requests with it, so a key it
   * held is free again at the next start. Only answers are written: one write per keyed request.
   */
  readonly #running = new Map<string, StoredKey>()
  /** Statements prepared once: parsing SQL per request showed in bench/durability.ts. */
  readonly #statements = new Map<string, BetterSqlite3.Statement>()

  constructor(path: string) {
    this.#path = path
  }

  async open(): Promise<void> {
    if (this.#db !== undefined) return
    const { default: Database } = await import('better-sqlite3')
    try {
      if (this.#path !== ':memory:') mkdirSync(dirname(this.#path), { recursive: true })
      const db = new Database(this.#path)
      db.pragma('journal_mode = WAL')
      db.pragma('busy_timeout = 5000')
      db.pragma('synchronous = NORMAL')
      db.exec(SCHEMA)
      // A store written before runs kept their request id.
      if (!(db.pragma('table_info(nexflow_runs)') as { name: string }[]).some((column) => column.name === 'request_id')) db.exec('ALTER TABLE nexflow_runs ADD COLUMN request_id TEXT')
      this.#claim(db)
      this.#db = db
    } catch (error) {
      if (error instanceof NexflowError) throw error
      throw new NexflowError('DURABILITY_UNAVAILABLE', `The run store ${this.#path} cannot be opened: ${(error as Error).message}`, { cause: error, details: { path: this.#path } })
    }
  }

  /**
   * One live process per store: a second one's start would mark the first one's running runs
   * interrupted. A process that died (SIGKILL) leaves its row; its pid no longer answers.
   */
  #claim(db: BetterSqlite3.Database): void {
    db.transaction(() => {
      const owner = db.prepare('SELECT pid, host FROM nexflow_owner WHERE id = 1').get() as { pid: number; host: string } | undefined
      if (owner !== undefined && owner.host === hostname() && owner.pid !== process.pid && alive(owner.pid)) {
        db.close()
        throw new NexflowError('DURABILITY_UNAVAILABLE', `The embedded run store ${this.#path} is in use by another nexflow process (pid ${owner.pid}); one instance per root: for several, set durability.databaseUrl (PostgreSQL)`, {
          details: { path: this.#path, pid: owner.pid },
        })
      }
      db.prepare('INSERT OR REPLACE INTO nexflow_owner (id, pid, host) VALUES (1, ?, ?)').run(process.pid, hostname())
    }).immediate()
  }

  get #ready(): BetterSqlite3.Database {
    if (this.#db === undefined) throw new NexflowError('DURABILITY_UNAVAILABLE', 'The run store is not open (the server is starting or has closed)')
    return this.#db
  }

  #prepare(sql: string): BetterSqlite3.Statement {
    let statement = this.#statements.get(sql)
    if (statement === undefined) {
      statement = this.#ready.prepare(sql)
      this.#statements.set(sql, statement)
    }
    return statement
  }

  createRuns(runs: readonly NewRun[]): Promise<void> {
    return settled(() => {
      const insert = this.#prepare("INSERT INTO nexflow_runs (id, workflow, status, inputs, request_id, created_at) VALUES (?, ?, 'pending', ?, ?, ?)")
      this.#ready.transaction(() => {
        for (const run of runs) insert.run(run.id, run.workflow, run.inputs, run.requestId ?? null, run.now)
      })()
    })
  }

  markRunning(id: string, now: number, retry = false): Promise<boolean> {
    return settled(() => {
      const from = retry ? "('pending', 'running')" : "('pending')"
      return this.#prepare(`UPDATE nexflow_runs SET status = 'running', started_at = ? WHERE id = ? AND status IN ${from}`).run(now, id).changes === 1
    })
  }

  finishRuns(ends: readonly { id: string; end: RunEnd; now: number }[]): Promise<boolean[]> {
    return settled(() => {
      const finish = this.#prepare("UPDATE nexflow_runs SET status = ?, outputs = ?, error = ?, finished_at = ? WHERE id = ? AND status IN ('pending', 'running')")
      return this.#ready.transaction(() =>
        ends.map(({ id, end, now }) => finish.run(end.status, end.outputs ?? null, end.error === undefined ? null : JSON.stringify(end.error), now, id).changes === 1),
      )()
    })
  }

  getRun(id: string): Promise<RunRecord | undefined> {
    return settled(() => {
      const row = this.#prepare('SELECT * FROM nexflow_runs WHERE id = ?').get(id) as RunRow | undefined
      return row === undefined ? undefined : runOfRow(row)
    })
  }

  listRuns(limit: number): Promise<RunRecord[]> {
    return settled(() => (this.#prepare('SELECT * FROM nexflow_runs ORDER BY created_at DESC LIMIT ?').all(limit) as RunRow[]).map(runOfRow))
  }

  async cancelRun(id: string, now: number): Promise<RunRecord | undefined> {
    this.#prepare("UPDATE nexflow_runs SET status = 'cancelled', finished_at = ? WHERE id = ? AND status IN ('pending', 'running')").run(now, id)
    return this.getRun(id)
  }

  recover(now: number): Promise<{ interrupted: string[]; pending: RunRecord[] }> {
    return settled(() => {
      const db = this.#ready
      return db.transaction(() => {
        const running = this.#prepare("SELECT id FROM nexflow_runs WHERE status = 'running'").all() as { id: string }[]
        this.#prepare("UPDATE nexflow_runs SET status = 'interrupted', finished_at = ? WHERE status = 'running'").run(now)
        const pending = (this.#prepare("SELECT * FROM nexflow_runs WHERE status = 'pending' ORDER BY created_at").all() as RunRow[]).map(runOfRow)
        // Keys held by requests of a process that is gone (stores written before keys were held in memory).
        this.#prepare("DELETE FROM nexflow_idempotency WHERE state = 'running'").run()
        return { interrupted: running.map((row) => row.id), pending }
      })()
    })
  }

  prune(now: number, keepRunsMs: number): Promise<void> {
    return settled(() => {
      this.#prepare("DELETE FROM nexflow_runs WHERE status NOT IN ('pending', 'running') AND finished_at < ?").run(now - keepRunsMs)
      this.#prepare('DELETE FROM nexflow_idempotency WHERE expires_at <= ?').run(now)
    })
  }

  beginIdempotent(claims: readonly IdempotencyClaim[], times: IdempotencyTimes): Promise<IdempotencyBegin[]> {
    return settled(() => {
      const find = this.#prepare('SELECT body_hash, state, status, body, expires_at, locked_until FROM nexflow_idempotency WHERE key = ?')
      // Claims are judged in order, so a second claim on a key the first just took finds it running.
      return claims.map((claim): IdempotencyBegin => {
        const judged = judgeKey(this.#running.get(claim.key) ?? (find.get(claim.key) as StoredKey | undefined), claim.bodyHash, times.now)
        if (judged !== 'take') return judged
        this.#running.set(claim.key, { body_hash: claim.bodyHash, state: 'running', status: null, body: null, expires_at: times.now + times.ttlMs, locked_until: times.now + times.lockMs })
        return { kind: 'new' }
      })
    })
  }

  completeIdempotent(answers: readonly IdempotencyAnswer[]): Promise<void> {
    return settled(() => {
      const store = this.#prepare("INSERT OR REPLACE INTO nexflow_idempotency (key, body_hash, state, status, body, expires_at, locked_until) VALUES (?, ?, 'done', ?, ?, ?, 0)")
      // One transaction for the batch: one WAL commit instead of one per request.
      this.#ready.transaction(() => {
        for (const answer of answers) {
          const held = this.#running.get(answer.key)
          if (held === undefined) continue // released, or taken over meanwhile: not this request's to store
          store.run(answer.key, held.body_hash, answer.status, answer.body, held.expires_at)
        }
      })()
      for (const answer of answers) this.#running.delete(answer.key)
    })
  }

  releaseIdempotent(key: string): Promise<void> {
    this.#running.delete(key)
    return Promise.resolve()
  }

  close(): Promise<void> {
    return settled(() => {
      this.#statements.clear()
      this.#db?.prepare('DELETE FROM nexflow_owner WHERE pid = ?').run(process.pid)
      this.#db?.close()
      this.#db = undefined
    })
  }
}
