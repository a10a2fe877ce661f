import type BetterSqlite3 from 'better-sqlite3'
import { NexflowError } from '../../errors.js'
import { judgeKey, runOfRow, type IdempotencyAnswer, type IdempotencyBegin, type IdempotencyClaim, type IdempotencyTimes, type NewRun, type RunEnd, type RunRecord, type RunRow, type RunStore, type StoredKey } from './run-store.js'
import type { StoredAnswer, StoreWrite, StoreWriteResults } from './store-writer-messages.js'
import { StoreWriterThread } from './store-writer-thread.js'

/** How often a writer thread that died may be replaced. */
export const WRITER_RESTART_MS = 1000

/** A synchronous call as a promise: a throw becomes a rejection, as from the PostgreSQL store. */
export function settled<T>(fn: () => T): Promise<T> {
  try {
    return Promise.resolve(fn())
  } catch (error) {
    return Promise.reject(error instanceof Error ? error : new Error(String(error)))
  }
}

/**
 * The embedded store: `.nexflow/nexflow.db` under the root, in WAL mode. Every write goes to the
 * store's writer thread (sqlite-writes.ts), which owns the one connection that writes: a row and
 * its commit cost tens of microseconds of CPU, which the server's thread cannot spare per request.
 * Reads stay here, on a read-only connection: one indexed row, a few microseconds, cheaper than
 * a message to another thread. WAL lets them run while the writer commits, and a write's promise
 * resolves once it is committed, so a read made after it sees it.
 */
export class SqliteRunStore implements RunStore {
  readonly kind = 'sqlite'
  readonly #path: string
  readonly #startWriter: () => StoreWriterThread
  #writer: StoreWriterThread | undefined
  /** The writer thread that replaces one that died, while it opens the store. */
  #replacing: Promise<StoreWriterThread> | undefined
  #lastReplaced = Number.NEGATIVE_INFINITY
  #db: BetterSqlite3.Database | undefined
  /**
   * Keys whose first request is still running. They live in memory, not in the file: this store
   * has one process (the writer claims it at open), and a process that dies takes its requests
   * with it, so a key it held is free again at the next start. Only answers are written: one
   * write per keyed request.
   */
  readonly #running = new Map<string, StoredKey>()
  /** Statements prepared once: parsing SQL per request showed in bench/durability.ts. */
  readonly #statements = new Map<string, BetterSqlite3.Statement>()

  /** `startWriter` makes each writer thread; tests pass one to reach the threads they stop. */
  constructor(path: string, startWriter: () => StoreWriterThread = () => new StoreWriterThread()) {
    this.#path = path
    this.#startWriter = startWriter
  }

  async open(): Promise<void> {
    if (this.#db !== undefined) return
    const writer = this.#startWriter()
    try {
      await writer.write({ op: 'open', path: this.#path })
      const { default: Database } = await import('better-sqlite3')
      const db = new Database(this.#path, { readonly: true })
      // A reader waits only while the writer resets the WAL: rare, and short.
      db.pragma('busy_timeout = 5000')
      this.#db = db
      this.#writer = writer
    } catch (error) {
      await writer.close().catch(() => undefined)
      if (error instanceof NexflowError) throw error
      throw new NexflowError('DURABILITY_UNAVAILABLE', `The run store ${this.#path} cannot be opened: ${(error as Error).message}`, { cause: error, details: { path: this.#path } })
    }
  }

  get #ready(): BetterSqlite3.Database {
    if (this.#db === undefined) throw new NexflowError('DURABILITY_UNAVAILABLE', 'The run store is not open (the server is starting or has closed)')
    return this.#db
  }

  /**
   * Posts a write to the writer thread. A thread that died (the writes it held failed with
   * DURABILITY_UNAVAILABLE) is replaced here, by a new thread that opens the store again: at most
   * once every {@link WRITER_RESTART_MS}, so a store that cannot be opened is not retried in a
   * loop. Writes posted meanwhile wait for it and keep their order.
   */
  #write<W extends StoreWrite>(write: W): Promise<StoreWriteResults[W['op']]> {
    const writer = this.#writer
    if (writer === undefined) return Promise.reject(new NexflowError('DURABILITY_UNAVAILABLE', 'The run store is not open (the server is starting or has closed)'))
    if (!writer.died && this.#replacing === undefined) return writer.write(write)
    return this.#replaceWriter(writer).then((next) => next.write(write))
  }

  #replaceWriter(dead: StoreWriterThread): Promise<StoreWriterThread> {
    if (this.#replacing !== undefined) return this.#replacing
    if (performance.now() - this.#lastReplaced < WRITER_RESTART_MS) return Promise.resolve(dead)
    this.#lastReplaced = performance.now()
    const replacing = (async () => {
      const writer = this.#startWriter()
      try {
        await writer.write({ op: 'open', path: this.#path })
      } catch (error) {
        await writer.close().catch(() => undefined)
        throw error
      }
      // Closed meanwhile: the new thread is not this store's any more.
      if (this.#writer !== dead) {
        await writer.close().catch(() => undefined)
        throw new NexflowError('DURABILITY_UNAVAILABLE', 'The run store is closed')
      }
      this.#writer = writer
      return writer
    })()
    this.#replacing = replacing
    void replacing.then(
      () => (this.#replacing = undefined),
      () => (this.#replacing = undefined),
    )
    return replacing
  }

  #prepare(sql: string): BetterSqlite3.Statement {
    let statement = this.#statements.get(sql)
    if (statement === undefined) {
      statement = this.#ready.prepare(sql)
      this.#statements.set(sql, statement)
    }
    return statement
  }

  async createRuns(runs: readonly NewRun[]): Promise<void> {
    await this.#write({ op: 'createRuns', runs })
  }

  async markRunning(id: string, now: number, retry = false): Promise<boolean> {
    return this.#write({ op: 'markRunning', id, now, retry })
  }

  async returnToPending(id: string): Promise<boolean> {
    return this.#write({ op: 'returnToPending', id })
  }

  async finishRuns(ends: readonly { id: string; end: RunEnd; now: number }[]): Promise<boolean[]> {
    return this.#write({ op: 'finishRuns', ends })
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
    await this.#write({ op: 'cancelRun', id, now })
    return this.getRun(id)
  }

  async recover(now: number): Promise<{ interrupted: string[]; pending: RunRecord[] }> {
    return this.#write({ op: 'recover', now })
  }

  async prune(now: number, keepRunsMs: number): Promise<void> {
    await this.#write({ op: 'prune', now, keepRunsMs })
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

  async completeIdempotent(answers: readonly IdempotencyAnswer[]): Promise<void> {
    const held: [string, StoredKey][] = []
    const rows: StoredAnswer[] = []
    for (const answer of answers) {
      const key = this.#running.get(answer.key)
      if (key === undefined) continue // released, or taken over meanwhile: not this request's to store
      held.push([answer.key, key])
      rows.push({ key: answer.key, bodyHash: key.body_hash, status: answer.status, body: answer.body, expiresAt: Number(key.expires_at) })
    }
    if (rows.length > 0) await this.#write({ op: 'storeAnswers', answers: rows })
    // Held until the row is committed: a request with the key meanwhile gets 409, never a miss.
    for (const [key, entry] of held) if (this.#running.get(key) === entry) this.#running.delete(key)
  }

  releaseIdempotent(key: string): Promise<void> {
    this.#running.delete(key)
    return Promise.resolve()
  }

  async close(): Promise<void> {
    this.#statements.clear()
    this.#db?.close()
    this.#db = undefined
    const writer = this.#writer
    this.#writer = undefined
    await writer?.close()
  }
}
