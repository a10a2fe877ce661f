import { NexflowError } from '../errors.js'
import type { ColumnCodec, TableCodec } from './codec.js'
import { Params, type Driver, type Executor, type SqlDialect } from './dialects/dialect.js'
import { compileFilter } from './filter.js'

/** What an operation needs: the model's columns for this dialect and a connection. */
export interface OperationContext {
  readonly codec: TableCodec
  readonly driver: Driver
}

type Data = Record<string, unknown>
type Id = string | number

/** `"field"`, `"-field"` (descending), or `[{ field: 1 | -1 }]`; a list sorts by each in turn. */
export type OrderBy = string | (string | Record<string, 1 | -1 | 'asc' | 'desc'>)[]

/** What BulkCreate does with a row whose key already exists. */
export type ConflictResolution = 'error' | 'skip' | 'update'

function invalid(message: string, details: Record<string, unknown> = {}): NexflowError {
  return new NexflowError('VALIDATION_FAILED', message, { details })
}

/** `{ id }` combined with an optional filter. */
function withId(id: Id | undefined, filter: Data | undefined, idField: string): Data | undefined {
  if (id === undefined) return filter
  return filter === undefined || Object.keys(filter).length === 0 ? { [idField]: id } : { $and: [filter, { [idField]: id }] }
}

/** ` WHERE ...` for a filter, adding the soft-delete condition; `''` when nothing filters. */
function where(codec: TableCodec, params: Params, filter: unknown, includeDeleted: boolean): string {
  const parts: string[] = []
  const compiled = compileFilter(filter, codec, params)
  if (compiled !== '') parts.push(compiled)
  if (codec.model.softDelete && !includeDeleted) parts.push(`${codec.sql.quote('deleted_at')} IS NULL`)
  return parts.length === 0 ? '' : ` WHERE ${parts.join(' AND ')}`
}

/**
 * True when the filter restricts nothing, judged by what it compiles to rather than by its keys:
 * `{ email: undefined }` has a key but no condition, and must not let Update pick an arbitrary
 * record or BulkDelete skip its confirmation.
 */
function isEmptyFilter(codec: TableCodec, filter: unknown): boolean {
  return compileFilter(filter, codec, new Params(codec.sql)) === ''
}

/** Integers are inlined in LIMIT/OFFSET (MySQL's prepared statements reject them as parameters); zod already made them safe integers. */
function integer(value: number, name: string): number {
  if (!Number.isSafeInteger(value) || value < 0) throw invalid(`${name} must be a non-negative integer`)
  return value
}

function orderByClause(codec: TableCodec, orderBy: OrderBy | undefined): string {
  const terms: [string, 'ASC' | 'DESC', string][] = []
  const add = (name: string, direction: 'ASC' | 'DESC') => {
    const column = codec.column(name)
    if (column === undefined) throw invalid(`orderBy: model "${codec.model.name}" has no field ${JSON.stringify(name)}`, { field: name })
    terms.push([column.quoted, direction, column.field.optional ? codec.sql.nullsOrder(direction) : ''])
  }
  const items = orderBy === undefined ? [] : typeof orderBy === 'string' ? orderBy.split(',').map((s) => s.trim()).filter(Boolean) : orderBy
  for (const item of items) {
    if (typeof item === 'string') {
      if (item.startsWith('-')) add(item.slice(1), 'DESC')
      else add(item.replace(/^\+/, ''), 'ASC')
    } else {
      for (const [name, direction] of Object.entries(item)) add(name, direction === -1 || direction === 'desc' ? 'DESC' : 'ASC')
    }
  }
  // The key breaks ties, so pages do not overlap or skip rows.
  const key = codec.sql.quote(codec.model.id.column)
  if (!terms.some(([column]) => column === key)) terms.push([key, 'ASC', ''])
  return ` ORDER BY ${terms.map(([column, direction, nulls]) => `${column} ${direction}${nulls}`).join(', ')}`
}

/** `(?, ?), (?, ?)` or `($1, $2), ($3, $4)` for `rows` rows of `columns` values. */
function valuesList(sql: SqlDialect, rows: number, columns: number): string {
  const numbered = sql.placeholder(1) !== sql.placeholder(2)
  if (!numbered) {
    const one = `(${new Array<string>(columns).fill(sql.placeholder(1)).join(', ')})`
    return new Array<string>(rows).fill(one).join(', ')
  }
  const out: string[] = []
  let n = 1
  for (let r = 0; r < rows; r++) {
    const row: string[] = []
    for (let c = 0; c < columns; c++) row.push(sql.placeholder(n++))
    out.push(`(${row.join(', ')})`)
  }
  return out.join(', ')
}

async function selectOne(ex: Executor, codec: TableCodec, filter: unknown, includeDeleted: boolean, lock: boolean): Promise<Data | undefined> {
  const params = new Params(codec.sql)
  const sql = `SELECT ${codec.selectList} FROM ${codec.table}${where(codec, params, filter, includeDeleted)}${orderByClause(codec, undefined)} LIMIT 1${lock ? codec.sql.forUpdate : ''}`
  const rows = await ex.all(sql, params.values)
  return rows[0] === undefined ? undefined : codec.decodeRow(rows[0])
}

async function selectById(ex: Executor, codec: TableCodec, id: unknown): Promise<Data> {
  const row = await selectOne(ex, codec, { [codec.model.id.name]: id }, true, false)
  if (row === undefined) throw new NexflowError('DATABASE_ERROR', `${codec.model.name}: the row with id ${String(id)} vanished right after it was written`)
  return row
}

/** Whether an INSERT of these rows writes the key column: only when it is caller-supplied. */
function includesId(codec: TableCodec, rows: readonly Data[]): boolean {
  if (codec.model.primaryKey === 'text') return true
  const idName = codec.model.id.name
  let withId = 0
  for (const row of rows) if (row[idName] !== undefined) withId++
  if (withId !== 0 && withId !== rows.length) {
    throw invalid(`${codec.model.name}: either every row gives "${idName}" or none does (${withId} of ${rows.length} do)`)
  }
  return withId > 0
}

type InsertColumns = readonly ColumnCodec[]

/** A one-row INSERT of a model on a dialect: the same for every Create, so built once. */
interface InsertStatement {
  readonly columns: InsertColumns
  readonly encoder: RowEncoder
  readonly sql: string
  /** The same, returning the stored row (where the driver supports RETURNING). */
  readonly returning: string
  /** Integer keys given by the caller: the database's key sequence must be moved past them. */
  readonly syncsKeys: boolean
}

/** By codec (a model on a dialect), with and without the key column. */
const insertStatements = new WeakMap<TableCodec, { withId?: InsertStatement; withoutId?: InsertStatement }>()

function insertStatement(codec: TableCodec, includeId: boolean): InsertStatement {
  let both = insertStatements.get(codec)
  if (both === undefined) insertStatements.set(codec, (both = {}))
  const cached = includeId ? both.withId : both.withoutId
  if (cached !== undefined) return cached
  const columns = codec.columns.filter((c) => c.field.role !== 'deleted_at' && (c.field.role !== 'id' || includeId))
  const sql = `INSERT INTO ${codec.table} (${columns.map((c) => c.quoted).join(', ')}) VALUES ${valuesList(codec.sql, 1, columns.length)}`
  const statement: InsertStatement = {
    columns,
    encoder: new RowEncoder(codec, columns),
    sql,
    returning: `${sql} RETURNING ${codec.selectList}`,
    syncsKeys: codec.model.primaryKey === 'integer' && columns.some((c) => c.field.role === 'id'),
  }
  if (includeId) both.withId = statement
  else both.withoutId = statement
  return statement
}

/**
 * Encodes rows for an INSERT, column by column, into a flat parameter array. Everything per column
 * (name, encoder, what a missing value becomes) is looked up once, not once per cell: BulkCreate
 * runs this for every cell of every row.
 */
class RowEncoder {
  readonly #names: string[]
  readonly #encoders: ((value: unknown) => unknown)[]
  /** Timestamps: a missing value becomes the time of the write. */
  readonly #stamped: boolean[]
  /** What any other missing value becomes: the zod default, else NULL. */
  readonly #defaults: ((() => unknown) | undefined)[]
  /** An explicit null stays NULL (declared fields), or falls back like a missing value (timestamps). */
  readonly #nullIsNull: boolean[]

  constructor(codec: TableCodec, columns: InsertColumns) {
    this.#names = columns.map((c) => c.field.name)
    this.#encoders = columns.map((c) => c.encode)
    this.#nullIsNull = columns.map((c) => c.field.role === 'field')
    this.#stamped = columns.map((c) => c.field.role === 'created_at' || c.field.role === 'updated_at')
    this.#defaults = columns.map((c) => {
      const makeDefault = codec.defaultOf(c.field)
      return makeDefault === undefined ? undefined : () => c.encode(makeDefault())
    })
  }

  /** Encodes `rows` into one parameter array; missing timestamps become `now`. */
  encode(rows: readonly Data[], now: Date): unknown[] {
    const names = this.#names
    const encoders = this.#encoders
    const width = names.length
    const out = new Array<unknown>(rows.length * width)
    // `now` as each timestamp column's encoder spells it, encoded once per call: the two
    // timestamps of a model share one encoder.
    let stampEncoder: ((value: unknown) => unknown) | undefined
    let stamp: unknown
    let at = 0
    for (const row of rows) {
      for (let i = 0; i < width; i++) {
        const value = row[names[i] as string]
        const encode = encoders[i] as (value: unknown) => unknown
        if (value != null) {
          out[at++] = encode(value)
        } else if (value === null && this.#nullIsNull[i]) {
          out[at++] = null
        } else if (this.#stamped[i]) {
          if (stampEncoder !== encode) {
            stampEncoder = encode
            stamp = encode(now)
          }
          out[at++] = stamp
        } else {
          const fallback = this.#defaults[i]
          out[at++] = fallback === undefined ? null : fallback()
        }
      }
    }
    return out
  }
}

/** After an insert that gave integer keys itself: lets the database generate keys past them. */
async function syncGeneratedKeys(ex: Executor, codec: TableCodec): Promise<void> {
  const statement = codec.sql.syncGeneratedKeys(codec.model.tableName, codec.model.id.column)
  if (statement !== undefined) await ex.all(statement.sql, statement.params)
}

async function insertOne(ex: Executor, ctx: OperationContext, data: Data): Promise<Data> {
  const { codec, driver } = ctx
  const statement = insertStatement(codec, includesId(codec, [data]))
  const values = statement.encoder.encode([data], new Date())
  if (driver.supportsReturning) {
    const rows = await ex.all(statement.returning, values)
    if (statement.syncsKeys) await syncGeneratedKeys(ex, codec)
    return codec.decodeRow(rows[0] as Data)
  }
  const result = await ex.run(statement.sql, values)
  if (statement.syncsKeys) await syncGeneratedKeys(ex, codec)
  return selectById(ex, codec, data[codec.model.id.name] ?? Number(result.insertId))
}

/** `SET a = ?, b = ?, updated_at = ?` for the given fields. */
function setClause(codec: TableCodec, params: Params, fields: Data, now: Date): string {
  const parts: string[] = []
  for (const [name, value] of Object.entries(fields)) {
    if (value === undefined) continue
    const column = codec.column(name)
    if (column === undefined || column.field.role !== 'field') throw invalid(`${codec.model.name}: cannot set ${JSON.stringify(name)}`, { field: name })
    parts.push(`${column.quoted} = ${params.bind(value === null ? null : column.encode(value))}`)
  }
  const updatedAt = codec.column('updated_at')
  if (updatedAt !== undefined) parts.push(`${updatedAt.quoted} = ${params.bind(updatedAt.encode(now))}`)
  return parts.join(', ')
}

/** Create: inserts one validated record and returns it as stored. */
export async function create(ctx: OperationContext, data: Data): Promise<Data> {
  return insertOne(ctx.driver, ctx, data)
}

/** Validated params of the operation. */
export interface ReadParams {
  id?: Id | undefined
  conditions?: Data | undefined
  raiseOnNotFound: boolean
  includeDeleted: boolean
}

/** Read: one record by key or conditions (the first by key order). */
export async function read(ctx: OperationContext, p: ReadParams): Promise<Data> {
  const { codec } = ctx
  if (p.id === undefined && isEmptyFilter(codec, p.conditions)) throw invalid(`${codec.model.name}ReadNode needs "id" or "conditions"`)
  const row = await selectOne(ctx.driver, codec, withId(p.id, p.conditions, codec.model.id.name), p.includeDeleted, false)
  if (row !== undefined) return { ...row, found: true }
  if (p.raiseOnNotFound) {
    const what = p.id !== undefined ? `id ${JSON.stringify(p.id)}` : 'the given conditions'
    throw new NexflowError('RECORD_NOT_FOUND', `${codec.model.name} with ${what} was not found`, { details: { model: codec.model.name, ...(p.id === undefined ? {} : { id: p.id }) } })
  }
  return { id: p.id ?? null, found: false }
}

/** Validated params of the operation. */
export interface UpdateParams {
  id?: Id | undefined
  filter?: Data | undefined
  fields: Data
}

/** Update: the first record matching the filter, in a transaction with a row lock. */
export async function update(ctx: OperationContext, p: UpdateParams): Promise<Data> {
  const { codec } = ctx
  const filter = withId(p.id, p.filter, codec.model.id.name)
  if (isEmptyFilter(codec, filter)) throw invalid(`${codec.model.name}UpdateNode needs "filter" (or "id"): it updates one record; use ${codec.model.name}BulkUpdateNode for many`)
  return ctx.driver.transaction(async (tx) => {
    const existing = await selectOne(tx, codec, filter, false, true)
    if (existing === undefined) return { ...(p.id === undefined ? {} : { id: p.id }), updated: false }
    const id = existing[codec.model.id.name]
    const params = new Params(codec.sql)
    const set = setClause(codec, params, p.fields, new Date())
    await tx.run(`UPDATE ${codec.table} SET ${set} WHERE ${codec.sql.quote(codec.model.id.column)} = ${params.bind(id)}`, params.values)
    return { ...(await selectById(tx, codec, id)), updated: true }
  })
}

/** Validated params of the operation. */
export interface DeleteParams {
  id?: Id | undefined
  filter?: Data | undefined
}

/** Delete: one record by key or filter; soft-delete models set `deleted_at`. */
export async function remove(ctx: OperationContext, p: DeleteParams): Promise<Data> {
  const { codec } = ctx
  const idColumn = codec.sql.quote(codec.model.id.column)
  if (p.id === undefined && isEmptyFilter(codec, p.filter)) throw invalid(`${codec.model.name}DeleteNode needs "id" or "filter": it deletes one record; use ${codec.model.name}BulkDeleteNode for many`)
  const deleteById = async (ex: Executor, id: unknown): Promise<boolean> => {
    const params = new Params(codec.sql)
    const sql = codec.model.softDelete
      ? `UPDATE ${codec.table} SET ${codec.sql.quote('deleted_at')} = ${params.bind(codec.sql.encoder('date')(new Date()))} WHERE ${idColumn} = ${params.bind(id)} AND ${codec.sql.quote('deleted_at')} IS NULL`
      : `DELETE FROM ${codec.table} WHERE ${idColumn} = ${params.bind(id)}`
    return (await ex.run(sql, params.values)).changes > 0
  }
  // By key alone: one statement, no transaction needed.
  if (isEmptyFilter(codec, p.filter)) return { id: p.id, deleted: await deleteById(ctx.driver, p.id) }
  return ctx.driver.transaction(async (tx) => {
    const existing = await selectOne(tx, codec, withId(p.id, p.filter, codec.model.id.name), false, true)
    if (existing === undefined) return { id: p.id ?? null, deleted: false }
    const id = existing[codec.model.id.name]
    return { id, deleted: await deleteById(tx, id) }
  })
}

/** Validated params of the operation. */
export interface ListParams {
  filter?: Data | undefined
  limit: number
  offset: number
  orderBy?: OrderBy | undefined
  countOnly: boolean
  /** Also count every match (`total`), in the same snapshot as the page. */
  includeTotal: boolean
  includeDeleted: boolean
}

/**
 * List: a page of records by filter and order, with `hasMore` (whether rows follow the page) and,
 * with `includeTotal`, `total` (every match).
 */
export async function list(ctx: OperationContext, p: ListParams): Promise<Data> {
  const { codec } = ctx
  const params = new Params(codec.sql)
  const whereSql = where(codec, params, p.filter, p.includeDeleted)
  const countSql = `SELECT COUNT(*) AS n FROM ${codec.table}${whereSql}`
  const countIn = async (ex: Executor) => Number((await ex.all(countSql, params.values))[0]?.n ?? 0)
  if (p.countOnly) {
    const total = await countIn(ctx.driver)
    return { records: [], count: total, limit: p.limit, hasMore: total > 0, total }
  }
  const limit = integer(p.limit, 'limit')
  // One row past the page tells whether another page follows, without a second query.
  const pageSql = `SELECT ${codec.selectList} FROM ${codec.table}${whereSql}${orderByClause(codec, p.orderBy)} LIMIT ${limit + 1} OFFSET ${integer(p.offset, 'offset')}`
  const read = async (ex: Executor) => ({ rows: await ex.all(pageSql, params.values), total: p.includeTotal ? await countIn(ex) : undefined })
  // The page and its total from one snapshot, so a write in between cannot make them disagree.
  const { rows, total } = p.includeTotal ? await ctx.driver.snapshot(read) : await read(ctx.driver)
  const hasMore = rows.length > limit
  const records = (hasMore ? rows.slice(0, limit) : rows).map((row) => codec.decodeRow(row))
  // As in the source system: `count` is the number of records returned (countOnly gives the total).
  return { records, count: records.length, limit: p.limit, hasMore, ...(total === undefined ? {} : { total }) }
}

/** Validated params of the operation. */
export interface CountParams {
  filter?: Data | undefined
  includeDeleted: boolean
}

/** Count: records matching the filter. */
export async function count(ctx: OperationContext, p: CountParams): Promise<Data> {
  const { codec } = ctx
  const params = new Params(codec.sql)
  const rows = await ctx.driver.all(`SELECT COUNT(*) AS n FROM ${codec.table}${where(codec, params, p.filter, p.includeDeleted)}`, params.values)
  return { count: Number(rows[0]?.n ?? 0) }
}

/** Validated params of the operation. */
export interface UpsertParams {
  /** How to find the record. */
  lookup: Data
  update: Data
  /** Validates and returns the complete data of a new record (called only when one is created). */
  create: () => Data
}

/** Upsert: updates the record found by `lookup`, or creates one, in a transaction; retried when a concurrent creator wins. */
export async function upsert(ctx: OperationContext, p: UpsertParams): Promise<Data> {
  const { codec } = ctx
  if (isEmptyFilter(codec, p.lookup)) throw invalid(`${codec.model.name}UpsertNode needs a non-empty "where" (or "conflictOn" fields present in the data)`)
  const attempt = () =>
    ctx.driver.transaction(async (tx) => {
      const existing = await selectOne(tx, codec, p.lookup, false, true)
      if (existing === undefined) return { created: true, action: 'created', record: await insertOne(tx, ctx, p.create()) }
      const id = existing[codec.model.id.name]
      const params = new Params(codec.sql)
      await tx.run(`UPDATE ${codec.table} SET ${setClause(codec, params, p.update, new Date())} WHERE ${codec.sql.quote(codec.model.id.column)} = ${params.bind(id)}`, params.values)
      return { created: false, action: 'updated', record: await selectById(tx, codec, id) }
    })
  for (let tries = 1; ; tries++) {
    try {
      return await attempt()
    } catch (error) {
      // Another caller created the record between our lookup and our insert: PostgreSQL reports
      // the duplicate key, InnoDB often a deadlock between the two gap locks. Either way the
      // transaction rolled back; look again, and this time find the record and update it.
      const kind = codec.sql.classifyError(error)
      if ((kind !== 'unique' && kind !== 'busy') || tries >= UPSERT_ATTEMPTS) throw error
    }
  }
}

const UPSERT_ATTEMPTS = 5

/** Validated params of the operation. */
export interface BulkCreateParams {
  data: Data[]
  batchSize: number
  conflictResolution: ConflictResolution
  /** Conflict target for `conflictResolution: 'update'`. */
  conflictOn: string[]
  returnIds: boolean
}

/** Rows per INSERT: the batch size, or fewer when the statement would carry too many parameters. */
function rowsPerStatement(sql: SqlDialect, batchSize: number, columns: number): number {
  return Math.max(1, Math.min(batchSize, Math.floor(sql.maxParams / columns)))
}

/** Keys of `conflictColumns` already present among `rows`, for counting inserts against updates. */
async function existingKeys(tx: Executor, codec: TableCodec, conflict: InsertColumns, rows: readonly Data[]): Promise<number> {
  // A row missing part of the key cannot match one (see `dedupe`).
  const keyed = rows.filter((row) => conflict.every((c) => row[c.field.name] != null))
  if (keyed.length === 0) return 0
  const params = new Params(codec.sql)
  const tuples = keyed.map((row) => {
    const values = conflict.map((c) => params.bind(c.encode(row[c.field.name])))
    return conflict.length === 1 ? (values[0] as string) : `(${values.join(', ')})`
  })
  const left = conflict.length === 1 ? (conflict[0] as (typeof conflict)[number]).quoted : `(${conflict.map((c) => c.quoted).join(', ')})`
  const result = await tx.all(`SELECT COUNT(*) AS n FROM ${codec.table} WHERE ${left} IN (${tuples.join(', ')})`, params.values)
  return Number(result[0]?.n ?? 0)
}

/** Checks that conflict fields name the key or a unique index, and returns their columns. */
export function conflictColumns(codec: TableCodec, fields: readonly string[]) {
  const columns = fields.map((name) => {
    const column = codec.column(name)
    if (column === undefined) throw invalid(`conflictOn: model "${codec.model.name}" has no field ${JSON.stringify(name)}`, { field: name })
    return column
  })
  const names = new Set(columns.map((c) => c.field.column))
  const same = (cols: readonly string[]) => cols.length === names.size && cols.every((c) => names.has(c))
  if (!same([codec.model.id.column]) && !codec.model.indexes.some((i) => i.unique && same(i.columns))) {
    const uniques = codec.model.indexes.filter((i) => i.unique).map((i) => `[${i.fields.join(', ')}]`)
    throw invalid(`conflictOn [${fields.join(', ')}] of model "${codec.model.name}" must be the key ("${codec.model.id.name}") or a unique index (${uniques.join(', ') || 'none declared'})`, { conflictOn: fields })
  }
  return columns
}

/**
 * Inserts `data` in batches inside ONE transaction: if any batch fails, no row of any batch is
 * kept. With `conflictResolution`: `error` fails on a duplicate key, `skip` leaves the existing row,
 * `update` overwrites, on the existing row, the fields each input row gives (an upsert on
 * `conflictOn`); fields a row leaves out keep their stored values (and get their defaults on insert).
 */
export async function bulkInsert(ctx: OperationContext, p: BulkCreateParams): Promise<{ processed: number; inserted: number; updated: number; ids?: unknown[] }> {
  const { codec, driver } = ctx
  const sql = codec.sql
  const rows = dedupe(codec, p)
  if (rows.length === 0) return { processed: 0, inserted: 0, updated: 0, ...(p.returnIds ? { ids: [] } : {}) }
  const { columns, encoder, syncsKeys } = insertStatement(codec, includesId(codec, rows))
  const conflict = p.conflictResolution === 'update' ? conflictColumns(codec, p.conflictOn) : []
  const groups = p.conflictResolution === 'update' ? groupByGivenFields(columns, rows) : [{ given: columns, rows }]
  const idName = codec.model.id.name
  // Skipped rows must not be reported as inserted. Where RETURNING cannot tell them apart (MySQL
  // has none, MariaDB's also returns skipped rows), each row gets its own INSERT, whose affected
  // row count says whether it was inserted: slower, and only for skip with returnIds.
  const oneByOne = p.returnIds && p.conflictResolution === 'skip' && !(driver.supportsReturning && sql.ignoreReturnsOnlyInserted)
  const returning = p.returnIds && driver.supportsReturning && !oneByOne ? ` RETURNING ${sql.quote(codec.model.id.column)}` : ''
  const head = `INSERT INTO ${codec.table} (${columns.map((c) => c.quoted).join(', ')}) VALUES `
  const per = oneByOne ? 1 : rowsPerStatement(sql, p.batchSize, columns.length)
  const now = new Date()

  return driver.transaction(async (tx) => {
    let changed = 0
    let existing = 0
    const ids: unknown[] = []
    for (const group of groups) {
      let clause = ''
      if (p.conflictResolution === 'skip') clause = sql.ignoreClause(codec.model.id.column)
      if (p.conflictResolution === 'update') {
        const keys = new Set(conflict.map((c) => c.field.column))
        const set = group.given.filter((c) => !keys.has(c.field.column) && c.field.role !== 'id' && c.field.role !== 'created_at').map((c) => c.field.column)
        clause = sql.upsertClause([...keys], set)
      }
      // Two statement texts at most per group: full batches and the remainder.
      const statements = new Map<number, string>()
      const statement = (n: number) => {
        let text = statements.get(n)
        if (text === undefined) statements.set(n, (text = `${head}${valuesList(sql, n, columns.length)}${clause}${returning}`))
        return text
      }
      for (let start = 0; start < group.rows.length; start += per) {
        const chunk = group.rows.slice(start, start + per)
        if (p.conflictResolution === 'update') existing += await existingKeys(tx, codec, conflict, chunk)
        const values = encoder.encode(chunk, now)
        if (returning !== '') {
          const out = await tx.all(statement(chunk.length), values)
          for (const row of out) ids.push(codec.decodeRow(row)[idName])
          changed += out.length
        } else {
          const result = await tx.run(statement(chunk.length), values)
          changed += result.changes
          if (oneByOne) {
            if (result.changes > 0) ids.push((chunk[0] as Data)[idName] ?? Number(result.insertId))
          } else if (p.returnIds) {
            // MySQL without RETURNING: a multi-row INSERT reports its first generated key, and the
            // rest follow it (innodb_autoinc_lock_mode 0 or 1; see the report on mode 2).
            if (codec.model.primaryKey === 'text' || chunk[0]?.[idName] !== undefined) for (const row of chunk) ids.push(row[idName])
            else for (let i = 0; i < chunk.length; i++) ids.push(Number(result.insertId) + i)
          }
        }
      }
    }
    if (syncsKeys) await syncGeneratedKeys(tx, codec)
    const counts = p.conflictResolution === 'update' ? { inserted: rows.length - existing, updated: existing } : { inserted: changed, updated: 0 }
    return { processed: rows.length, ...counts, ...(p.returnIds ? { ids } : {}) }
  })
}

/** Rows grouped by which fields they give, so an upsert only overwrites what each row says. */
function groupByGivenFields(columns: InsertColumns, rows: readonly Data[]): { given: InsertColumns; rows: Data[] }[] {
  const groups = new Map<string, { given: InsertColumns; rows: Data[] }>()
  for (const row of rows) {
    let signature = ''
    for (const column of columns) signature += row[column.field.name] === undefined ? '0' : '1'
    let group = groups.get(signature)
    if (group === undefined) {
      // Timestamps count as given: updated_at is always set, created_at never overwritten.
      const given = columns.filter((c, i) => signature[i] === '1' || c.field.role === 'updated_at')
      groups.set(signature, (group = { given, rows: [] }))
    }
    group.rows.push(row)
  }
  return [...groups.values()]
}

function keyPart(value: unknown): unknown {
  if (typeof value === 'bigint') return `${value}n`
  return value instanceof Date ? value.toISOString() : value
}

/**
 * For upserts, a key given twice keeps its last row (PostgreSQL refuses to touch a row twice in one
 * statement). A row missing a part of the key cannot conflict (a generated key is new; NULLs are
 * distinct in unique indexes), so it is always kept: all such rows would otherwise share one key.
 */
function dedupe(codec: TableCodec, p: BulkCreateParams): Data[] {
  if (p.conflictResolution !== 'update') return p.data
  const columns = conflictColumns(codec, p.conflictOn)
  const keyOf = (row: Data): string | undefined => {
    const parts = columns.map((c) => row[c.field.name])
    return parts.some((part) => part == null) ? undefined : JSON.stringify(parts.map(keyPart))
  }
  const keys = p.data.map(keyOf)
  const last = new Map<string, number>()
  keys.forEach((key, i) => {
    if (key !== undefined) last.set(key, i)
  })
  const kept = p.data.filter((_row, i) => keys[i] === undefined || last.get(keys[i]) === i)
  return kept.length === p.data.length ? p.data : kept
}

/** Validated params of the operation. */
export interface BulkUpdateParams {
  filter?: Data | undefined
  fields?: Data | undefined
  /** Per-record updates: each item has the key and the fields to set. */
  data?: Data[] | undefined
  confirmed: boolean
}

/** BulkUpdate: one UPDATE for a filter, or per-record updates in one transaction. */
export async function bulkUpdate(ctx: OperationContext, p: BulkUpdateParams): Promise<Data> {
  const { codec } = ctx
  const idName = codec.model.id.name
  if (p.data !== undefined) {
    const now = new Date()
    return ctx.driver.transaction(async (tx) => {
      let updated = 0
      for (const item of p.data as Data[]) {
        const { [idName]: id, ...fields } = item
        if (id === undefined) throw invalid(`${codec.model.name}BulkUpdateNode: every item of "data" needs "${idName}"`)
        const params = new Params(codec.sql)
        const set = setClause(codec, params, fields, now)
        const whereSql = where(codec, params, { [idName]: id }, false)
        updated += (await tx.run(`UPDATE ${codec.table} SET ${set}${whereSql}`, params.values)).changes
      }
      return { processed: (p.data as Data[]).length, updated, success: true }
    })
  }
  if (isEmptyFilter(codec, p.filter) && !p.confirmed) {
    throw invalid(`${codec.model.name}BulkUpdateNode: an empty filter would update every record; pass confirmed: true to do that`)
  }
  const params = new Params(codec.sql)
  const set = setClause(codec, params, p.fields ?? {}, new Date())
  const result = await ctx.driver.run(`UPDATE ${codec.table} SET ${set}${where(codec, params, p.filter, false)}`, params.values)
  return { processed: result.changes, updated: result.changes, success: true }
}

/** Validated params of the operation. */
export interface BulkDeleteParams {
  filter?: Data | undefined
  ids?: Id[] | undefined
  confirmed: boolean
}

/** BulkDelete: one DELETE (or soft-delete UPDATE) for a filter or a list of keys. */
export async function bulkDelete(ctx: OperationContext, p: BulkDeleteParams): Promise<Data> {
  const { codec } = ctx
  const filter = p.ids === undefined ? p.filter : { $and: [p.filter ?? {}, { [codec.model.id.name]: { $in: p.ids } }] }
  if (isEmptyFilter(codec, filter) && !p.confirmed) {
    throw invalid(`${codec.model.name}BulkDeleteNode: an empty filter would delete every record; pass confirmed: true to do that`)
  }
  const params = new Params(codec.sql)
  let sql: string
  if (codec.model.softDelete) {
    const set = `${codec.sql.quote('deleted_at')} = ${params.bind(codec.sql.encoder('date')(new Date()))}`
    sql = `UPDATE ${codec.table} SET ${set}${where(codec, params, filter, false)}`
  } else {
    sql = `DELETE FROM ${codec.table}${where(codec, params, filter, false)}`
  }
  const result = await ctx.driver.run(sql, params.values)
  return { processed: result.changes, deleted: result.changes, success: true }
}
