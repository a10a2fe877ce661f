import { z } from 'zod'
import { NexflowError } from '../errors.js'
import type { FieldKind, FieldManifest, ModelManifest } from '../protocol/dataflow-manifest.js'
import { defaultTableName, IDENTIFIER, toSnakeCase } from './naming.js'

/** A model's zod shape: field name -> schema. */
export type ModelShape = Record<string, z.ZodType>

/** An index a model asks for; created by migrations, used by upserts as a conflict target when unique. */
export interface IndexOptions {
  fields: string[]
  unique?: boolean
  /** Default: `idx_<table>_<columns>` or `uq_<table>_<columns>`. */
  name?: string
}

/** The third argument of `db.model()`. */
export interface ModelOptions {
  /** Default: the snake_case plural of the model name (`Person` -> `people`). */
  tableName?: string
  /** Delete sets `deleted_at` instead of removing the row; reads skip such rows unless asked. */
  softDelete?: boolean
  indexes?: IndexOptions[]
}

/** What a column is for: the key, a declared field, or a timestamp DataFlow maintains. */
export type FieldRole = 'id' | 'field' | 'created_at' | 'updated_at' | 'deleted_at'

/** One column of a model, analysed once from its zod schema. */
export interface FieldSpec {
  /** The name callers use in data, filters and results. */
  readonly name: string
  readonly column: string
  readonly kind: FieldKind
  /** May be left out (optional, or nullable): the column is nullable. */
  readonly optional: boolean
  /** `.nullable()`: a NULL column reads back as `null` rather than leaving the field out. */
  readonly nullable: boolean
  readonly hasDefault: boolean
  readonly primaryKey: boolean
  readonly role: FieldRole
  readonly values?: readonly string[]
  /** From `z.string().max(n)`: lets MySQL use VARCHAR(n). */
  readonly maxLength?: number
  /** The declared schema; absent for columns DataFlow adds itself. */
  readonly schema?: z.ZodType
}

/** An index with its resolved name and columns. */
export interface IndexSpec {
  readonly name: string
  readonly fields: readonly string[]
  readonly columns: readonly string[]
  readonly unique: boolean
}

/** A model as DataFlow sees it: pure data derived from the zod shape, made without I/O. */
export interface ModelSpec {
  readonly name: string
  readonly tableName: string
  readonly softDelete: boolean
  readonly primaryKey: 'text' | 'integer'
  /** Every column, in table order: id, declared fields, then the timestamps not declared. */
  readonly columns: readonly FieldSpec[]
  /** Declared fields (without `id` and the timestamps), what Create accepts besides them. */
  readonly fields: readonly FieldSpec[]
  readonly id: FieldSpec
  readonly indexes: readonly IndexSpec[]
  readonly shape: ModelShape
  /** Field names and column names -> column. */
  readonly lookup: ReadonlyMap<string, FieldSpec>
}

/** The 11 operations every model gets a node for, in the order their node types are listed. */
export const NODE_OPERATIONS = ['Create', 'Read', 'Update', 'Delete', 'List', 'Count', 'Upsert', 'BulkCreate', 'BulkUpdate', 'BulkDelete', 'BulkUpsert'] as const
/** `Create`, `Read`, ..., `BulkUpsert`. */
export type NodeOperation = (typeof NODE_OPERATIONS)[number]

/** `User` -> `UserCreateNode`, ... in the order the issue lists them. */
export function nodeTypeNames(modelName: string): string[] {
  return NODE_OPERATIONS.map((op) => `${modelName}${op}Node`)
}

const MODEL_NAME = /^[A-Za-z][A-Za-z0-9_]{0,62}$/
const TIMESTAMP_ROLES = new Set<FieldRole>(['created_at', 'updated_at', 'deleted_at'])

function modelError(model: string, message: string, details: Record<string, unknown> = {}): NexflowError {
  return new NexflowError('CONFIG_INVALID', `Model "${model}": ${message}`, { details: { model, ...details } })
}

interface ZodInternals {
  _zod: { def: Record<string, unknown> & { type: string }; bag: Record<string, unknown> }
}

function defOf(schema: unknown): ZodInternals['_zod']['def'] {
  return (schema as ZodInternals)._zod.def
}

interface Analysed {
  kind: FieldKind
  optional: boolean
  nullable: boolean
  hasDefault: boolean
  values: string[] | undefined
  maxLength: number | undefined
}

const INT_FORMATS = new Set(['safeint', 'int32', 'uint32', 'int64', 'uint64'])
/** zod types whose column kind needs no further look. */
const DIRECT_KINDS: Record<string, FieldKind> = {
  boolean: 'boolean',
  date: 'date',
  bigint: 'bigint',
  object: 'json',
  array: 'json',
  record: 'json',
  tuple: 'json',
  any: 'json',
  unknown: 'json',
  union: 'json',
  intersection: 'json',
  null: 'json',
}

type Def = ZodInternals['_zod']['def']

/**
 * Reads a zod schema's definition (no parsing) to find its column kind and nullability. Written as
 * a tight loop because it runs for every field of every model at import time.
 */
export function analyseSchema(schema: z.ZodType): Analysed | string {
  let current: unknown = schema
  let optional = false
  let nullable = false
  let hasDefault = false
  for (let depth = 0; depth < 32; depth++) {
    const def = defOf(current)
    const type = def.type
    const direct = DIRECT_KINDS[type]
    if (direct !== undefined) {
      // z.any() / z.unknown() accept a missing value, so their column must accept NULL.
      const open = type === 'any' || type === 'unknown'
      return { kind: direct, optional: optional || nullable || open, nullable: nullable || open, hasDefault, values: undefined, maxLength: undefined }
    }
    switch (type) {
      case 'optional':
        optional = true
        current = def.innerType
        continue
      case 'nullable':
        nullable = true
        current = def.innerType
        continue
      case 'default':
      case 'prefault':
        hasDefault = true
        current = def.innerType
        continue
      case 'readonly':
      case 'catch':
      case 'nonoptional':
        current = def.innerType
        continue
      case 'pipe':
        // A transform's output type is unknown; otherwise the output schema says what is stored.
        current = defOf(def.out).type === 'transform' ? def.in : def.out
        continue
      case 'lazy':
        current = (def.getter as () => unknown)()
        continue
      default: {
        const base = baseKind(current, def)
        if (typeof base === 'string') return base
        return { kind: base.kind, optional: optional || nullable, nullable, hasDefault, values: base.values, maxLength: base.maxLength }
      }
    }
  }
  return 'is nested too deeply'
}

function baseKind(schema: unknown, def: Def): { kind: FieldKind; values?: string[]; maxLength?: number } | string {
  switch (def.type) {
    case 'string':
    case 'template_literal': {
      // Read from the checks: zod's own `maxLength` getter costs microseconds per call.
      let max: number | undefined
      const checks = def.checks as { _zod: { def: { check: string; maximum?: number } } }[] | undefined
      if (checks !== undefined) {
        for (const check of checks) if (check._zod.def.check === 'max_length') max = Math.min(max ?? Infinity, check._zod.def.maximum as number)
      }
      return max === undefined ? { kind: 'string' } : { kind: 'string', maxLength: max }
    }
    case 'number': {
      // z.int() carries its format in the def, z.number().int() in a check. (zod's `format`
      // getter would say the same, but builds JSON-schema metadata on first read.)
      if (INT_FORMATS.has(def.format as string)) return { kind: 'integer' }
      const checks = def.checks as { _zod: { def: { check: string; format?: string } } }[] | undefined
      return checks?.some((c) => c._zod.def.check === 'number_format' && INT_FORMATS.has(c._zod.def.format as string)) ? { kind: 'integer' } : { kind: 'number' }
    }
    case 'enum': {
      const values = Object.values(def.entries as Record<string, unknown>)
      return values.every((v): v is string => typeof v === 'string') ? { kind: 'enum', values } : { kind: 'json' }
    }
    case 'literal': {
      const values = def.values as unknown[]
      if (values.every((v): v is string => typeof v === 'string')) return { kind: 'enum', values }
      if (values.every((v) => typeof v === 'boolean')) return { kind: 'boolean' }
      if (values.every((v) => typeof v === 'number')) return { kind: 'number' }
      return { kind: 'json' }
    }
    case 'custom': {
      const cls = (schema as ZodInternals)._zod.bag.Class
      if (typeof cls === 'function' && (cls === Uint8Array || cls.prototype instanceof Uint8Array)) return { kind: 'bytes' }
      return 'is a custom schema DataFlow cannot store (use z.instanceof(Uint8Array) for bytes)'
    }
    default:
      return `has zod type "${def.type}", which has no column type`
  }
}

const RESERVED_ROLE: Record<string, FieldRole> = { id: 'id', created_at: 'created_at', updated_at: 'updated_at', deleted_at: 'deleted_at' }

function timestampSpec(role: 'created_at' | 'updated_at' | 'deleted_at'): FieldSpec {
  const optional = role === 'deleted_at'
  return Object.freeze({ name: role, column: role, kind: 'date', optional, nullable: optional, hasDefault: !optional, primaryKey: false, role })
}

// Columns DataFlow adds itself are the same for every model: made once.
const CREATED_AT = timestampSpec('created_at')
const UPDATED_AT = timestampSpec('updated_at')
const DELETED_AT = timestampSpec('deleted_at')
const GENERATED_ID: FieldSpec = Object.freeze({ name: 'id', column: 'id', kind: 'integer', optional: false, nullable: false, hasDefault: true, primaryKey: true, role: 'id' })

/**
 * Analyses a zod shape into a {@link ModelSpec}. Pure and cheap (no zod parsing, no schema
 * building), because apps define models at import time: 100 models must take well under 10 ms.
 */
export function defineModelSpec(name: string, shape: ModelShape, options: ModelOptions = {}): ModelSpec {
  if (!MODEL_NAME.test(name)) throw modelError(name, 'a model name starts with a letter and uses only letters, digits and _ (at most 63)')
  if (typeof shape !== 'object' || shape === null) throw modelError(name, 'the shape must be an object of zod schemas')
  const tableName = options.tableName ?? defaultTableName(name)
  if (!IDENTIFIER.test(tableName)) throw modelError(name, `table name "${tableName}" must be a plain identifier (letters, digits, _)`)
  const softDelete = options.softDelete ?? false

  const fields: FieldSpec[] = []
  const timestamps = new Map<FieldRole, FieldSpec>()
  let id: FieldSpec | undefined
  for (const [fieldName, schema] of Object.entries(shape)) {
    if (!IDENTIFIER.test(fieldName)) throw modelError(name, `field "${fieldName}" must be a plain identifier (letters, digits, _)`, { field: fieldName })
    if (typeof schema !== 'object' || schema === null || !('_zod' in schema)) throw modelError(name, `field "${fieldName}" is not a zod schema`, { field: fieldName })
    const analysed = analyseSchema(schema)
    if (typeof analysed === 'string') throw modelError(name, `field "${fieldName}" ${analysed}`, { field: fieldName })
    const column = toSnakeCase(fieldName)
    const role: FieldRole = RESERVED_ROLE[column] ?? 'field'
    const spec: FieldSpec = {
      name: fieldName,
      column,
      kind: analysed.kind,
      optional: analysed.optional,
      nullable: analysed.nullable,
      hasDefault: analysed.hasDefault,
      primaryKey: role === 'id',
      role,
      values: analysed.values,
      maxLength: analysed.maxLength,
      schema,
    }
    if (role === 'id') {
      if (analysed.kind !== 'string' && analysed.kind !== 'integer' && analysed.kind !== 'number') throw modelError(name, `"id" must be a string (a key the caller supplies) or a number (a generated integer key)`)
      id = { ...spec, kind: analysed.kind === 'string' ? 'string' : 'integer', optional: false, nullable: false, hasDefault: analysed.kind !== 'string' }
    } else if (TIMESTAMP_ROLES.has(role)) {
      if (analysed.kind !== 'date') throw modelError(name, `"${fieldName}" is maintained by DataFlow and must be declared as z.date() if declared at all`)
      if (role === 'deleted_at' && !softDelete) throw modelError(name, `"${fieldName}" is the soft-delete column; declare it only with { softDelete: true }`)
      timestamps.set(role, { ...spec, optional: role === 'deleted_at', nullable: role === 'deleted_at', hasDefault: role !== 'deleted_at' })
    } else {
      fields.push(spec)
    }
  }
  id ??= GENERATED_ID
  const columns: FieldSpec[] = [id, ...fields, timestamps.get('created_at') ?? CREATED_AT, timestamps.get('updated_at') ?? UPDATED_AT]
  if (softDelete) columns.push(timestamps.get('deleted_at') ?? DELETED_AT)

  const lookup = new Map<string, FieldSpec>()
  const seenColumns = new Map<string, string>()
  for (const column of columns) {
    const other = seenColumns.get(column.column)
    if (other !== undefined) throw modelError(name, `fields "${other}" and "${column.name}" both map to column "${column.column}"`)
    seenColumns.set(column.column, column.name)
    lookup.set(column.name, column)
    lookup.set(column.column, column)
  }

  const indexes = (options.indexes ?? []).map((index): IndexSpec => {
    if (!Array.isArray(index.fields) || index.fields.length === 0) throw modelError(name, 'an index needs at least one field')
    const specs = index.fields.map((f) => {
      const spec = lookup.get(f)
      if (spec === undefined) throw modelError(name, `index field "${f}" is not a field of the model`, { field: f })
      return spec
    })
    const columnNames = specs.map((s) => s.column)
    const unique = index.unique ?? false
    const indexName = index.name ?? indexName_(unique ? 'uq' : 'idx', tableName, columnNames)
    if (!IDENTIFIER.test(indexName)) throw modelError(name, `index name "${indexName}" must be a plain identifier`)
    return { name: indexName, fields: specs.map((s) => s.name), columns: columnNames, unique }
  })

  return { name, tableName, softDelete, primaryKey: id.kind === 'string' ? 'text' : 'integer', columns, fields, id, indexes, shape, lookup }
}

/** Index names are global per schema in PostgreSQL and cut at 63/64 characters, so long ones get a hash. */
function indexName_(prefix: string, table: string, columns: string[]): string {
  const full = `${prefix}_${table}_${columns.join('_')}`
  if (full.length <= 60) return full
  let hash = 0
  for (let i = 0; i < full.length; i++) hash = (Math.imul(hash, 31) + full.charCodeAt(i)) | 0
  return `${full.slice(0, 51)}_${(hash >>> 0).toString(16).padStart(8, '0')}`
}

/** The model as plain data (see `modelManifestSchema`). */
export function modelManifest(spec: ModelSpec): ModelManifest {
  return {
    name: spec.name,
    tableName: spec.tableName,
    softDelete: spec.softDelete,
    primaryKey: spec.primaryKey,
    fields: spec.columns.map(
      (c): FieldManifest => ({
        name: c.name,
        column: c.column,
        kind: c.kind,
        optional: c.optional,
        hasDefault: c.hasDefault,
        primaryKey: c.primaryKey,
        ...(c.values === undefined ? {} : { values: [...c.values] }),
      }),
    ),
    indexes: spec.indexes.map((i) => ({ name: i.name, fields: [...i.fields], unique: i.unique })),
    nodeTypes: nodeTypeNames(spec.name),
  }
}

/**
 * Rebuilds a zod shape from a manifest (how a second app loads persisted models). Refinements and
 * default values are not in a manifest: fields with a default come back optional.
 */
export function shapeFromManifest(manifest: ModelManifest): { shape: ModelShape; options: ModelOptions } {
  const shape: ModelShape = {}
  for (const field of manifest.fields) {
    if (field.column === 'created_at' || field.column === 'updated_at' || field.column === 'deleted_at') continue
    if (field.primaryKey && manifest.primaryKey === 'integer') continue
    let schema: z.ZodType = baseSchema(field)
    if (field.optional || field.hasDefault) schema = schema.optional()
    shape[field.name] = schema
  }
  return {
    shape,
    options: { tableName: manifest.tableName, softDelete: manifest.softDelete, indexes: manifest.indexes.map((i) => ({ fields: i.fields, unique: i.unique, name: i.name })) },
  }
}

function baseSchema(field: FieldManifest): z.ZodType {
  switch (field.kind) {
    case 'string':
      return z.string()
    case 'number':
      return z.number()
    case 'integer':
      return z.number().int()
    case 'boolean':
      return z.boolean()
    case 'date':
      return z.date()
    case 'enum':
      return field.values !== undefined && field.values.length > 0 ? z.enum(field.values as [string, ...string[]]) : z.string()
    case 'bigint':
      return z.bigint()
    case 'json':
      return z.json()
    case 'bytes':
      return z.instanceof(Uint8Array)
  }
}
