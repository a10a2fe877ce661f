import type { Dialect, FieldKind } from '../../protocol/dataflow-manifest.js'
import type { FieldSpec } from '../model.js'

/** A row as the driver returns it: column name -> raw value. */
export type RawRow = Record<string, unknown>

/** The outcome of a statement run for its effect. */
export interface RunResult {
  /** Rows inserted, updated or deleted. */
  changes: number
  /** The generated key of the last inserted row, where the driver reports one. */
  insertId?: number | bigint | undefined
}

/** Runs statements; values are always bound parameters, never spliced into the SQL. */
export interface Executor {
  /** A statement that returns rows (SELECT, or anything with RETURNING). */
  all(sql: string, params?: readonly unknown[]): Promise<RawRow[]>
  /** A statement run for its effect. */
  run(sql: string, params?: readonly unknown[]): Promise<RunResult>
}

/** A connection (SQLite) or a pool (PostgreSQL, MySQL) for one DataFlow in one thread. */
export interface Driver extends Executor {
  readonly sql: SqlDialect
  /**
   * Connects on first call; later calls are free. A DataFlow calls this lazily, in whichever thread
   * uses it first, so defining models never does I/O.
   */
  open(): Promise<void>
  /** True once open when `INSERT ... RETURNING` works (SQLite, PostgreSQL, MariaDB >= 10.5). */
  readonly supportsReturning: boolean
  /** Runs `fn` in one transaction on one connection: committed if it resolves, rolled back if it throws. */
  transaction<T>(fn: (tx: Executor) => Promise<T>): Promise<T>
  /**
   * Runs `fn`'s reads in one read-only transaction that sees a single snapshot of the database
   * (no commit made after its first read), so two queries agree, e.g. a page and its total. Takes
   * no lock: writers carry on meanwhile.
   */
  snapshot<T>(fn: (tx: Executor) => Promise<T>): Promise<T>
  /**
   * Runs `fn` holding the database-wide migration lock, so concurrent migrators (threads,
   * processes, machines) take turns. Waits at most `timeoutMs`, then fails with
   * `MIGRATION_LOCK_TIMEOUT`. The wait happens in JavaScript, never in a blocking native call.
   */
  withMigrationLock<T>(timeoutMs: number, fn: (tx: Executor) => Promise<T>): Promise<T>
  close(): Promise<void>
}

/** How a driver error should be reported. */
export type ErrorClass = 'unique' | 'missing_table' | 'missing_column' | 'busy' | 'other'

/** Turns one JS value into what the driver binds for a column kind, or back. */
export type Codec = (value: unknown) => unknown

/**
 * Everything that differs between databases in the SQL text itself: quoting, placeholders,
 * column types, value conversion, and the few operators without a common spelling. Pure: no I/O.
 */
export interface SqlDialect {
  readonly name: Dialect
  /** Bound parameters one statement may carry. */
  readonly maxParams: number
  quote(identifier: string): string
  /** The placeholder of the `index`-th (1-based) parameter. */
  placeholder(index: number): string
  /** The column's DDL type, e.g. `TEXT` or `VARCHAR(255)`. `indexed`: part of an index. */
  columnType(field: FieldSpec, indexed: boolean): string
  /** The column's DDL type and nullability, e.g. `TEXT NOT NULL`. `indexed`: part of an index. */
  columnDefinition(field: FieldSpec, indexed: boolean): string
  /** The whole DDL of the key column. */
  primaryKeyDefinition(field: FieldSpec): string
  /** Text after `CREATE TABLE t (...)`. */
  readonly tableSuffix: string
  encoder(kind: FieldKind): Codec
  decoder(kind: FieldKind): Codec
  /** `$like`: case-sensitive pattern match with `%` and `_`. Returns the SQL and the value to bind. */
  like(column: string, placeholder: string, pattern: string): { sql: string; value: unknown }
  /** `$ilike`: the same, ignoring case. */
  ilike(column: string, placeholder: string): string
  /** `$regex`: the filter has already refused patterns that backtrack catastrophically (`safe-regex.ts`). */
  regex(column: string, placeholder: string): string
  /** Why this dialect's engine refuses a pattern the shared shape rules accept (SQLite: one its linear-time engine cannot run). */
  regexProblem?(pattern: string): string | undefined
  /**
   * Appended to an ORDER BY term so NULL sorts as the smallest value on every dialect (first
   * ascending, last descending), as SQLite and MySQL do natively.
   */
  nullsOrder(direction: 'ASC' | 'DESC'): string
  /** Appended to a SELECT that reads a row it will then write, in a transaction. */
  readonly forUpdate: string
  /** Clause after `INSERT ... VALUES (...)` that updates `updateColumns` on a conflict on `conflictColumns`. */
  upsertClause(conflictColumns: readonly string[], updateColumns: readonly string[]): string
  /** Clause after `INSERT ... VALUES (...)` that skips rows that conflict. */
  ignoreClause(primaryKey: string): string
  /**
   * Whether `INSERT ... <ignoreClause> RETURNING` returns only the rows it inserted. MariaDB's
   * skip is a no-op update, and RETURNING returns the rows it skipped as well.
   */
  readonly ignoreReturnsOnlyInserted: boolean
  /**
   * A statement to run after rows were inserted with caller-supplied integer keys, so later
   * generated keys come after them; `undefined` where the database does that itself.
   */
  syncGeneratedKeys(table: string, keyColumn: string): { sql: string; params: unknown[] } | undefined
  /** A query returning one row `{ name, type }` per column of a table (empty when it does not exist); `type` as the catalog spells it. */
  columnsQuery(table: string): { sql: string; params: unknown[] }
  /**
   * Whether an existing column of catalog type `type` holds the values a field of `kind` stores,
   * unchanged: the same family of values however it is spelled (`VARCHAR(255)` and `TEXT` both
   * hold strings; a `REAL` column does not, SQLite would turn `'42'` into `42.0`). Types the
   * dialect does not know are given the benefit of the doubt.
   */
  holdsKind(type: string, kind: FieldKind): boolean
  /** How to change a column to the field's type by hand: a statement, or what to do where there is none. */
  retypeHint(table: string, field: FieldSpec, indexed: boolean): string
  /** A query returning one row `{ name }` per index of a table. */
  indexesQuery(table: string): { sql: string; params: unknown[] }
  classifyError(error: unknown): ErrorClass
}

/** Builds the placeholder list `(?, ?, ?)` style helpers on top of a dialect. */
export class Params {
  readonly values: unknown[] = []
  constructor(private readonly sql: SqlDialect) {}

  /** Binds a value and returns its placeholder. */
  bind(value: unknown): string {
    this.values.push(value)
    return this.sql.placeholder(this.values.length)
  }
}
