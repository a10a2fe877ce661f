import { mkdirSync } from 'node:fs'
import { dirname } from 'node:path'
import type BetterSqlite3 from 'better-sqlite3'
import { NexflowError } from '../../../errors.js'
import type { Driver, Executor, RawRow, RunResult } from '../dialect.js'
import { retryAfter, retryUntil } from '../retry.js'
import { regexProblem } from '../../safe-regex.js'
import { sqliteRegExp } from './linear-regex.js'
import { sqliteDialect } from './sqlite-dialect.js'
import { OpenOnce } from '../open-once.js'

/**
 * SQLite's native busy wait: none. A statement that finds the database locked fails at once with
 * SQLITE_BUSY and {@link retryUntil} waits in JavaScript before trying again. While SQLite waits in
 * its busy handler the thread is inside native code, where `worker.terminate()` cannot reach it;
 * and if termination is requested during that wait, better-sqlite3 wakes up to throw SQLITE_BUSY
 * on an isolate that is shutting down, which aborts the whole process (FATAL ERROR:
 * v8::ToLocalChecked Empty MaybeLocal). Our thread test hit that even with a 10 ms native wait.
 */
export const SQLITE_NATIVE_BUSY_MS = 0

/** How long an ordinary statement keeps retrying while another connection holds the write lock. */
export const SQLITE_BUSY_RETRY_MS = 10_000

const STATEMENT_CACHE = 256

const isBusy = (error: unknown) => sqliteDialect.classifyError(error) === 'busy'

/** Runs synchronous driver work as a promise, so its throws become rejections. */
const settle = <T>(fn: () => T): Promise<T> => new Promise<T>((resolve) => resolve(fn()))

/**
 * One better-sqlite3 connection, opened lazily in the thread that first uses it, in WAL mode with
 * `synchronous=NORMAL`. better-sqlite3 is synchronous, so statements on this connection are
 * serialized by an async mutex: an open transaction spans awaits, and another caller's statement
 * must not land inside it.
 */
export class SqliteDriver implements Driver {
  readonly sql = sqliteDialect
  readonly supportsReturning = true
  readonly #path: string
  #db: BetterSqlite3.Database | undefined
  readonly #opening = new OpenOnce(() => this.#open())
  readonly #statements = new Map<string, BetterSqlite3.Statement>()
  readonly #regexCache = new Map<string, RegExp>()
  #queue: Promise<unknown> = Promise.resolve()
  readonly #direct: Executor

  constructor(path: string) {
    this.#path = path
    this.#direct = { all: (sql, params) => settle(() => this.#all(sql, params)), run: (sql, params) => settle(() => this.#run(sql, params)) }
  }

  open(): Promise<void> {
    return this.#opening.open()
  }

  async #open(): Promise<void> {
    // Loaded here, not at import: apps on PostgreSQL never load the native addon, and importing
    // DataFlow stays free of native work.
    const { default: Database } = await import('better-sqlite3')
    const memory = this.#path === ':memory:'
    if (!memory) mkdirSync(dirname(this.#path), { recursive: true })
    const db = new Database(this.#path, { timeout: SQLITE_NATIVE_BUSY_MS })
    try {
      // Switching to WAL needs a moment of exclusive access; another connection may be busy.
      if (!memory) await this.#retryBusy(() => db.pragma('journal_mode = WAL'))
      db.pragma('synchronous = NORMAL')
      db.function('regexp', { deterministic: true }, (pattern: string | null, value: string | number | bigint | null) => {
        if (value == null || pattern == null) return null
        return this.#regex(pattern).test(String(value)) ? 1 : 0
      })
    } catch (error) {
      db.close()
      throw error
    }
    this.#db = db
  }

  /**
   * The RegExp for a pattern, compiled once per distinct pattern rather than once per row.
   * Filters check `$regex` patterns before building SQL; checking again here, once per pattern,
   * keeps any other path to REGEXP from running one that backtracks catastrophically.
   */
  #regex(pattern: string): RegExp {
    let regex = this.#regexCache.get(pattern)
    if (regex === undefined) {
      const problem = regexProblem(pattern)
      if (problem !== undefined) throw new NexflowError('VALIDATION_FAILED', `SQLite REGEXP refused ${JSON.stringify(pattern)}: the pattern ${problem}`)
      const compiled = sqliteRegExp(pattern)
      if (!(compiled instanceof RegExp)) throw new NexflowError('VALIDATION_FAILED', `SQLite REGEXP refused ${JSON.stringify(pattern)}: the pattern ${compiled.problem}`)
      regex = compiled
      if (this.#regexCache.size >= 100) this.#regexCache.clear()
      this.#regexCache.set(pattern, regex)
    }
    return regex
  }

  #connection(): BetterSqlite3.Database {
    if (this.#db === undefined) throw new NexflowError('DATABASE_ERROR', 'SQLite connection used before open() or after close()')
    return this.#db
  }

  #prepare(sql: string): BetterSqlite3.Statement {
    let statement = this.#statements.get(sql)
    if (statement === undefined) {
      statement = this.#connection().prepare(sql)
      if (statement.reader) statement.safeIntegers(true)
      if (this.#statements.size >= STATEMENT_CACHE) this.#statements.delete(this.#statements.keys().next().value as string)
      this.#statements.set(sql, statement)
    }
    return statement
  }

  #all(sql: string, params: readonly unknown[] = []): RawRow[] {
    return this.#prepare(sql).all(params) as RawRow[]
  }

  #run(sql: string, params: readonly unknown[] = []): RunResult {
    const statement = this.#prepare(sql)
    if (statement.reader) {
      const rows = statement.all(params)
      return { changes: rows.length }
    }
    const info = statement.run(params)
    return { changes: info.changes, insertId: info.lastInsertRowid }
  }

  /**
   * `attempt`'s value, or, while another connection holds the lock, a promise of it. The first try
   * is made here: an unlocked database (nearly every statement) then costs no promise of its own.
   */
  #retryBusy<T>(attempt: () => T, timeoutMs = SQLITE_BUSY_RETRY_MS): T | Promise<T> {
    const deadline = performance.now() + timeoutMs
    try {
      return attempt()
    } catch (error) {
      if (!isBusy(error)) throw error
      return retryAfter(error, attempt, isBusy, deadline, (last) => new NexflowError('DATABASE_ERROR', `SQLite database ${this.#path} stayed locked by another connection for ${timeoutMs} ms`, { cause: last }))
    }
  }

  /** Runs `fn` when every earlier caller on this connection is done. */
  #exclusive<T>(fn: () => T | Promise<T>): Promise<T> {
    const result = this.#queue.then(fn)
    this.#queue = result.catch(() => undefined)
    return result
  }

  all(sql: string, params?: readonly unknown[]): Promise<RawRow[]> {
    return this.#exclusive(() => this.#retryBusy(() => this.#all(sql, params)))
  }

  run(sql: string, params?: readonly unknown[]): Promise<RunResult> {
    return this.#exclusive(() => this.#retryBusy(() => this.#run(sql, params)))
  }

  transaction<T>(fn: (tx: Executor) => Promise<T>): Promise<T> {
    return this.#exclusive(() => this.#inTransaction(fn, () => this.#retryBusy(() => this.#connection().exec('BEGIN IMMEDIATE'))))
  }

  snapshot<T>(fn: (tx: Executor) => Promise<T>): Promise<T> {
    // A deferred BEGIN takes no lock; in WAL mode the first read fixes the snapshot every later
    // read of the transaction sees, while other connections keep writing.
    return this.#exclusive(() =>
      this.#inTransaction(fn, () => this.#connection().exec('BEGIN DEFERRED')),
    )
  }

  withMigrationLock<T>(timeoutMs: number, fn: (tx: Executor) => Promise<T>): Promise<T> {
    // BEGIN IMMEDIATE takes SQLite's one write lock, and SQLite DDL is transactional: the whole
    // migration commits or none of it does.
    const begin = () =>
      retryUntil(
        () => this.#connection().exec('BEGIN IMMEDIATE'),
        isBusy,
        timeoutMs,
        (last) => new NexflowError('MIGRATION_LOCK_TIMEOUT', `Another migrator held the SQLite write lock on ${this.#path} for more than ${timeoutMs} ms (migrationLockTimeoutMs)`, { cause: last, details: { timeoutMs } }),
      )
    return this.#exclusive(() => this.#inTransaction(fn, begin))
  }

  async #inTransaction<T>(fn: (tx: Executor) => Promise<T>, begin: () => unknown): Promise<T> {
    await begin()
    const db = this.#connection()
    try {
      const result = await fn(this.#direct)
      db.exec('COMMIT')
      return result
    } catch (error) {
      if (db.inTransaction) db.exec('ROLLBACK')
      throw error
    }
  }

  async close(): Promise<void> {
    await this.#opening.settle()
    await this.#exclusive(() => {
      this.#statements.clear()
      this.#db?.close()
      this.#db = undefined
    })
  }
}
