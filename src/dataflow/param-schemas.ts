import { z } from 'zod'
import type { FieldSpec, ModelSpec, NodeOperation } from './model.js'

// JSON carries dates, bigints and bytes as text: each kind accepts that form and converts it
// before the field's own schema (with its refinements) sees the value.
const fromJson: Partial<Record<FieldSpec['kind'], (value: unknown) => unknown>> = {
  date: (v) => (typeof v === 'string' || typeof v === 'number' ? new Date(v) : v),
  bigint: (v) => ((typeof v === 'string' && /^-?\d+$/.test(v)) || (typeof v === 'number' && Number.isSafeInteger(v)) ? BigInt(v) : v),
  bytes: (v) => (typeof v === 'string' ? Buffer.from(v, 'base64') : Array.isArray(v) && v.every((b) => Number.isInteger(b)) ? Buffer.from(v as number[]) : v),
}

function accepting(field: FieldSpec, schema: z.ZodType): z.ZodType {
  const convert = fromJson[field.kind]
  return convert === undefined ? schema : z.preprocess(convert, schema)
}

/** The declared schema without a top-level default: a partial update must not reset fields to defaults. */
function withoutDefault(schema: z.ZodType): z.ZodType {
  const def = (schema as unknown as { _zod: { def: { type: string; innerType?: z.ZodType } } })._zod.def
  return (def.type === 'default' || def.type === 'prefault') && def.innerType !== undefined ? def.innerType : schema
}

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value)

/**
 * An object whose keys name fields, passed on as it is. Not `z.record()`: that silently drops an
 * own `"__proto__"` key (JSON can carry one), which turned `{"__proto__": {...}}` into the empty
 * filter. Keys are checked against the model where they are used (filters, orderBy, Create).
 */
function fieldsObject<T extends Record<string, unknown>>(message: string, check: (value: Record<string, unknown>) => boolean = () => true, jsonSchema: Record<string, unknown> = {}) {
  return z.custom<T>((value) => isObject(value) && check(value), message).meta({ type: 'object', ...jsonSchema })
}

const filterSchema = fieldsObject<Record<string, unknown>>('must be an object of conditions')
const dataObject = fieldsObject<Record<string, unknown>>('must be an object of fields')
const DIRECTIONS: readonly unknown[] = [1, -1, 'asc', 'desc']
const orderObject = fieldsObject<Record<string, 1 | -1 | 'asc' | 'desc'>>('must be { field: 1 | -1 | "asc" | "desc" }', (value) => Object.values(value).every((d) => DIRECTIONS.includes(d)), {
  additionalProperties: { enum: DIRECTIONS },
})
const orderBySchema = z.union([z.string(), z.array(z.union([z.string(), orderObject]))])
const fieldList = z.array(z.string()).min(1)
const batchSize = z.number().int().min(1).max(100_000).default(1000)

/**
 * The zod schemas of one model's node params, built on first use: building them costs tens of
 * microseconds per model, and a model must be definable in a few.
 */
export class ModelSchemas {
  readonly spec: ModelSpec
  #row: z.ZodObject | undefined
  #fields: z.ZodObject | undefined
  #bulkRow: z.ZodObject | undefined
  #id: z.ZodType | undefined
  readonly #params = new Map<NodeOperation, z.ZodObject>()

  constructor(spec: ModelSpec) {
    this.spec = spec
  }

  /** A key as callers send it: text keys as strings, integer keys as numbers or digit strings. */
  get id(): z.ZodType {
    return (this.#id ??= this.spec.primaryKey === 'text' ? z.string().min(1) : z.union([z.number().int(), z.string().regex(/^\d{1,15}$/).transform(Number)]))
  }

  /** A new record: every declared field, the key when callers supply it, and optional timestamps (kept when given, for imports). */
  get row(): z.ZodObject {
    if (this.#row === undefined) {
      const shape: Record<string, z.ZodType> = {}
      for (const column of this.spec.columns) {
        if (column.role === 'deleted_at') continue
        if (column.role === 'created_at' || column.role === 'updated_at') {
          shape[column.name] = accepting(column, (column.schema ?? z.date()).optional())
        } else if (column.role === 'id') {
          shape[column.name] = this.spec.primaryKey === 'text' ? accepting(column, column.schema ?? z.string()) : z.number().int().optional()
        } else {
          shape[column.name] = accepting(column, column.schema as z.ZodType)
        }
      }
      this.#row = z.strictObject(shape)
    }
    return this.#row
  }

  /** A row of bulk data: like {@link row}, but defaults are left for the operation to fill (see `TableCodec.defaultOf`). */
  get bulkRow(): z.ZodObject {
    if (this.#bulkRow === undefined) {
      const shape: Record<string, z.ZodType> = { ...this.row.shape }
      for (const field of this.spec.fields) {
        if (field.hasDefault) shape[field.name] = accepting(field, withoutDefault(field.schema as z.ZodType).optional())
      }
      this.#bulkRow = z.strictObject(shape)
    }
    return this.#bulkRow
  }

  /** Fields to change: any subset of the declared fields, no defaults applied; `null` clears an optional field. */
  get fields(): z.ZodObject {
    if (this.#fields === undefined) {
      const shape: Record<string, z.ZodType> = {}
      for (const field of this.spec.fields) {
        const base = withoutDefault(field.schema as z.ZodType)
        shape[field.name] = accepting(field, field.optional ? base.nullable().optional() : base.optional())
      }
      this.#fields = z.strictObject(shape)
    }
    return this.#fields
  }

  params(op: NodeOperation): z.ZodObject {
    let schema = this.#params.get(op)
    if (schema === undefined) {
      schema = this.#build(op)
      this.#params.set(op, schema)
    }
    return schema
  }

  #build(op: NodeOperation): z.ZodObject {
    const id = this.id.optional()
    switch (op) {
      case 'Create':
        return this.row
      case 'Read':
        return z.strictObject({
          id,
          conditions: filterSchema.optional(),
          /** Accepted as a synonym of `conditions`. */
          filter: filterSchema.optional(),
          raiseOnNotFound: z.boolean().default(true),
          includeDeleted: z.boolean().default(false),
        })
      case 'Update':
        return z.strictObject({ id, filter: filterSchema.optional(), fields: this.fields.default({}) })
      case 'Delete':
        return z.strictObject({ id, filter: filterSchema.optional() })
      case 'List':
        return z.strictObject({
          filter: filterSchema.optional(),
          limit: z.number().int().min(0).default(10),
          offset: z.number().int().min(0).default(0),
          orderBy: orderBySchema.optional(),
          countOnly: z.boolean().default(false),
          includeTotal: z.boolean().default(false),
          includeDeleted: z.boolean().default(false),
        })
      case 'Count':
        return z.strictObject({ filter: filterSchema.optional(), includeDeleted: z.boolean().default(false) })
      case 'Upsert':
        return z.strictObject({ where: filterSchema, update: this.fields.default({}), create: dataObject.default({}), conflictOn: fieldList.optional() })
      case 'BulkCreate':
        return z.strictObject({
          data: z.array(this.bulkRow),
          batchSize,
          conflictResolution: z.enum(['error', 'skip', 'update']).default('error'),
          conflictOn: fieldList.optional(),
          returnIds: z.boolean().default(false),
        })
      case 'BulkUpdate':
        return z.strictObject({
          filter: filterSchema.optional(),
          fields: this.fields.optional(),
          data: z.array(this.fields.extend({ [this.spec.id.name]: this.id })).optional(),
          confirmed: z.boolean().default(false),
        })
      case 'BulkDelete':
        return z.strictObject({ filter: filterSchema.optional(), ids: z.array(this.id).optional(), confirmed: z.boolean().default(false) })
      case 'BulkUpsert':
        return z.strictObject({ data: z.array(this.bulkRow), conflictOn: fieldList.optional(), batchSize, returnIds: z.boolean().default(false) })
    }
  }
}
