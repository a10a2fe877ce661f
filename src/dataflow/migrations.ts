import { z } from 'zod'
import { NexflowError } from '../errors.js'
import { sha256 } from '../sha256.js'
import { TableCodec } from './codec.js'
import { Params, type Driver, type Executor, type SqlDialect } from './dialects/dialect.js'
import { defineModelSpec, type ModelSpec } from './model.js'

/** The bookkeeping table every migration is recorded in, itself created by the same planner. */
export const MIGRATIONS_MODEL = defineModelSpec(
  'DataflowMigration',
  { modelName: z.string().max(255), tableName: z.string().max(255), checksum: z.string().max(64), statements: z.string() },
  { tableName: 'dataflow_migrations' },
)

/** The columns (name -> type, as the catalog spells it) and indexes a table has now; `undefined` when it does not exist. */
export interface TableState {
  columns: ReadonlyMap<string, string>
  indexes: ReadonlySet<string>
}

/** A column that exists with a type that does not hold what the model's field stores (a field changed from number to string). */
export interface ColumnDrift {
  model: string
  table: string
  field: string
  column: string
  /** The column's type in the database. */
  found: string
  /** The type DataFlow would create for the field. */
  expected: string
  /** How to change it by hand. */
  fix: string
}

/** The DDL one model needs. */
export interface ModelMigration {
  model: string
  table: string
  statements: string[]
  /** sha256 of the statements, recorded in `dataflow_migrations`. */
  checksum: string
}

/** What `migrate()` would run (or ran): per model, and all statements in order. */
export interface MigrationPlan {
  models: ModelMigration[]
  statements: string[]
}

/** Reads a table's columns and index names from the catalog; `undefined` when the table does not exist. */
export async function inspectTable(ex: Executor, sql: SqlDialect, table: string): Promise<TableState | undefined> {
  const columnsQuery = sql.columnsQuery(table)
  const columns = await ex.all(columnsQuery.sql, columnsQuery.params)
  if (columns.length === 0) return undefined
  const indexesQuery = sql.indexesQuery(table)
  const indexes = await ex.all(indexesQuery.sql, indexesQuery.params)
  return { columns: new Map(columns.map((r) => [String(r.name), typeof r.type === 'string' ? r.type : ''])), indexes: new Set(indexes.map((r) => String(r.name))) }
}

/** The model's columns that exist in `state` with a type that does not hold the field's values. */
export function findDrift(spec: ModelSpec, sql: SqlDialect, state: TableState | undefined): ColumnDrift[] {
  if (state === undefined) return []
  const indexed = new Set(spec.indexes.flatMap((i) => i.columns))
  const drift: ColumnDrift[] = []
  for (const c of spec.columns) {
    const found = state.columns.get(c.column)
    if (found === undefined || sql.holdsKind(found, c.kind)) continue
    const isIndexed = c.primaryKey || indexed.has(c.column)
    drift.push({ model: spec.name, table: spec.tableName, field: c.name, column: c.column, found, expected: sql.columnType(c, isIndexed), fix: sql.retypeHint(spec.tableName, c, isIndexed) })
  }
  return drift
}

/**
 * The DDL that brings a table from `state` to the model: CREATE TABLE when it is missing, else
 * ADD COLUMN for new fields and CREATE INDEX for new indexes. Additive only: nothing is dropped,
 * renamed or retyped, so no data can be lost. Added columns are nullable, since existing rows have
 * no value for them (zod still requires the field on new writes).
 */
export function planTable(spec: ModelSpec, sql: SqlDialect, state: TableState | undefined): string[] {
  const q = (identifier: string) => sql.quote(identifier)
  const table = q(spec.tableName)
  const indexed = new Set(spec.indexes.flatMap((i) => i.columns))
  const statements: string[] = []
  if (state === undefined) {
    const columns = spec.columns.map((c) => (c.primaryKey ? sql.primaryKeyDefinition(c) : `${q(c.column)} ${sql.columnDefinition(c, indexed.has(c.column))}`))
    statements.push(`CREATE TABLE ${table} (${columns.join(', ')})${sql.tableSuffix}`)
  } else {
    for (const c of spec.columns) {
      if (!state.columns.has(c.column)) statements.push(`ALTER TABLE ${table} ADD COLUMN ${q(c.column)} ${sql.columnDefinition({ ...c, optional: true }, indexed.has(c.column))}`)
    }
  }
  for (const index of spec.indexes) {
    if (state?.indexes.has(index.name)) continue
    statements.push(`CREATE ${index.unique ? 'UNIQUE ' : ''}INDEX ${q(index.name)} ON ${table} (${index.columns.map(q).join(', ')})`)
  }
  return statements
}

/**
 * Inspects each model's table and returns the DDL it still needs. Fails with MIGRATION_REQUIRED
 * ({@link schemaDrift}) when an existing column's type does not hold its field's values: an
 * additive migration cannot fix that, and using the table would coerce or reject values.
 */
export async function planMigrations(ex: Executor, sql: SqlDialect, specs: readonly ModelSpec[]): Promise<MigrationPlan> {
  const models: ModelMigration[] = []
  const drift: ColumnDrift[] = []
  for (const spec of specs) {
    const state = await inspectTable(ex, sql, spec.tableName)
    drift.push(...findDrift(spec, sql, state))
    const statements = planTable(spec, sql, state)
    if (statements.length > 0) models.push({ model: spec.name, table: spec.tableName, statements, checksum: sha256(statements.join(';\n')) })
  }
  const plan = { models, statements: models.flatMap((m) => m.statements) }
  if (drift.length > 0) throw schemaDrift(drift, plan)
  return plan
}

/** The MIGRATION_REQUIRED error for columns whose type no longer matches the model, one line per column, with the fix. */
export function schemaDrift(drift: readonly ColumnDrift[], plan: MigrationPlan): NexflowError {
  const lines = drift.map((d) => `- ${d.table}.${d.column} (model "${d.model}", field "${d.field}"): the database has ${d.found}, the model wants ${d.expected}. To convert it: ${d.fix}`)
  const what = drift.length === 1 ? 'A column has a type' : `${drift.length} columns have a type`
  return new NexflowError(
    'MIGRATION_REQUIRED',
    `${what} that does not hold what its model's field stores:\n${lines.join('\n')}\n` +
      "DataFlow's migrations only add tables, columns and indexes; they never change a column's type, since that can lose data. " +
      "Convert each column yourself (after checking what its rows hold), or rename the field so that a new column is added, or map the model to another table with { tableName }.",
    { details: { drift: drift.map((d) => ({ ...d })), statements: plan.statements } },
  )
}

/** Creates a bookkeeping table (migrations, model registry) if missing; inside the migration lock. */
export async function ensureBookkeepingTable(tx: Executor, sql: SqlDialect, spec: ModelSpec): Promise<void> {
  for (const statement of planTable(spec, sql, await inspectTable(tx, sql, spec.tableName))) await tx.run(statement)
}

/**
 * Migrates `specs` holding the migration lock. The plan is made under the lock, from the live
 * schema, so a second migrator that waited finds nothing left to do, and each change is recorded
 * exactly once in `dataflow_migrations`. `after` runs under the same lock (model persistence).
 */
export async function applyMigrations(driver: Driver, specs: readonly ModelSpec[], lockTimeoutMs: number, after?: (tx: Executor) => Promise<void>): Promise<MigrationPlan> {
  const sql = driver.sql
  return driver.withMigrationLock(lockTimeoutMs, async (tx) => {
    await ensureBookkeepingTable(tx, sql, MIGRATIONS_MODEL)
    const plan = await planMigrations(tx, sql, specs)
    const codec = new TableCodec(MIGRATIONS_MODEL, sql)
    for (const migration of plan.models) {
      for (const statement of migration.statements) {
        try {
          await tx.run(statement)
        } catch (error) {
          throw new NexflowError('DATABASE_ERROR', `Migration of model "${migration.model}" failed at: ${statement}: ${error instanceof Error ? error.message : String(error)}`, {
            cause: error,
            details: { model: migration.model, statement },
          })
        }
      }
      await recordMigration(tx, codec, migration)
    }
    if (after !== undefined) await after(tx)
    return plan
  })
}

async function recordMigration(tx: Executor, codec: TableCodec, migration: ModelMigration): Promise<void> {
  const params = new Params(codec.sql)
  const now = new Date()
  const values = [migration.model, migration.table, migration.checksum, migration.statements.join(';\n'), now, now]
  const columns = ['modelName', 'tableName', 'checksum', 'statements', 'created_at', 'updated_at'].map((name) => codec.column(name) as NonNullable<ReturnType<TableCodec['column']>>)
  const placeholders = columns.map((c, i) => params.bind(c.encode(values[i])))
  await tx.run(`INSERT INTO ${codec.table} (${columns.map((c) => c.quoted).join(', ')}) VALUES (${placeholders.join(', ')})`, params.values)
}

/** The MIGRATION_REQUIRED error for a model whose table lacks something, with the DDL to run. */
export function migrationRequired(spec: ModelSpec, migration: ModelMigration): NexflowError {
  const what = migration.statements[0]?.startsWith('CREATE TABLE') ? `table "${spec.tableName}" does not exist` : `table "${spec.tableName}" is missing columns or indexes`
  return new NexflowError(
    'MIGRATION_REQUIRED',
    `Model "${spec.name}" cannot be used: ${what}, and autoMigrate is off. Run \`await db.migrate()\`, or apply this DDL:\n${migration.statements.map((s) => `${s};`).join('\n')}`,
    { details: { model: spec.name, table: spec.tableName, statements: migration.statements } },
  )
}
