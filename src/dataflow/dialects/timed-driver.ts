import type { Driver, Executor, RawRow, RunResult } from './dialect.js'

/** Called after every statement with its SQL (never its values) and how long it took. */
export type StatementObserver = (sql: string, ms: number) => void

function timed(executor: Executor, observe: StatementObserver): Executor {
  return {
    async all(sql, params) {
      const start = performance.now()
      try {
        return await executor.all(sql, params)
      } finally {
        observe(sql, performance.now() - start)
      }
    },
    async run(sql, params) {
      const start = performance.now()
      try {
        return await executor.run(sql, params)
      } finally {
        observe(sql, performance.now() - start)
      }
    },
  }
}

/** Wraps a driver so every statement, inside transactions too, is timed (for `slowQueryMs`). */
export class TimedDriver implements Driver {
  readonly #inner: Driver
  readonly #observe: StatementObserver
  readonly #executor: Executor

  constructor(inner: Driver, observe: StatementObserver) {
    this.#inner = inner
    this.#observe = observe
    this.#executor = timed(inner, observe)
  }

  get sql() {
    return this.#inner.sql
  }

  get supportsReturning(): boolean {
    return this.#inner.supportsReturning
  }

  open(): Promise<void> {
    return this.#inner.open()
  }

  all(sql: string, params?: readonly unknown[]): Promise<RawRow[]> {
    return this.#executor.all(sql, params)
  }

  run(sql: string, params?: readonly unknown[]): Promise<RunResult> {
    return this.#executor.run(sql, params)
  }

  transaction<T>(fn: (tx: Executor) => Promise<T>): Promise<T> {
    return this.#inner.transaction((tx) => fn(timed(tx, this.#observe)))
  }

  snapshot<T>(fn: (tx: Executor) => Promise<T>): Promise<T> {
    return this.#inner.snapshot((tx) => fn(timed(tx, this.#observe)))
  }

  withMigrationLock<T>(timeoutMs: number, fn: (tx: Executor) => Promise<T>): Promise<T> {
    return this.#inner.withMigrationLock(timeoutMs, (tx) => fn(timed(tx, this.#observe)))
  }

  close(): Promise<void> {
    return this.#inner.close()
  }
}
