import type { z } from 'zod'
import type { Filter } from './filter.js'
import type { ModelShape } from './model.js'
import type { OrderBy } from './operations.js'

type Maintained = 'id' | 'created_at' | 'updated_at' | 'deleted_at'

/** The key type: `string` when the model declares a string `id`, otherwise a generated `number`. */
export type ModelKey<S extends ModelShape> = S extends { id: z.ZodType<infer O> } ? (O extends string ? string : number) : number

/** A stored record as read back: declared fields, the key and the timestamps DataFlow maintains. */
export type ModelRecord<S extends ModelShape> = Omit<z.output<z.ZodObject<S>>, Maintained> & {
  id: ModelKey<S>
  created_at: Date
  updated_at: Date
  /** Present on soft-delete models: `null` until deleted. */
  deleted_at?: Date | null
}

/** What Create accepts: the declared fields; the key when callers supply it; timestamps optionally (imports). */
export type CreateInput<S extends ModelShape> = Omit<z.input<z.ZodObject<S>>, Maintained> &
  (ModelKey<S> extends string ? { id: string } : { id?: number }) & { created_at?: Date | string; updated_at?: Date | string }

/** Fields an update may set; `null` clears an optional field. */
export type FieldsInput<S extends ModelShape> = { [K in keyof Omit<z.input<z.ZodObject<S>>, Maintained>]?: z.input<z.ZodObject<S>>[K] | null }

export type RecordFilter<S extends ModelShape> = Filter<ModelRecord<S>>

export interface ReadInput<S extends ModelShape> {
  id?: ModelKey<S>
  conditions?: RecordFilter<S>
  filter?: RecordFilter<S>
  /** Default true: a missing record is a `RECORD_NOT_FOUND` error. */
  raiseOnNotFound?: boolean
  includeDeleted?: boolean
}

export type ReadResult<S extends ModelShape> = (ModelRecord<S> & { found: true }) | { id: ModelKey<S> | null; found: false }

export interface UpdateInput<S extends ModelShape> {
  id?: ModelKey<S>
  filter?: RecordFilter<S>
  fields: FieldsInput<S>
}

export type UpdateResult<S extends ModelShape> = (ModelRecord<S> & { updated: true }) | { id?: ModelKey<S>; updated: false }

export interface DeleteInput<S extends ModelShape> {
  id?: ModelKey<S>
  filter?: RecordFilter<S>
}

export interface ListInput<S extends ModelShape> {
  filter?: RecordFilter<S>
  /** Default 10. */
  limit?: number
  offset?: number
  /** `"field"`, `"-field"`, or `[{ field: 1 | -1 }]`. */
  orderBy?: OrderBy
  /** Only count the matches: `{ records: [], count: total, total, hasMore: total > 0 }`. */
  countOnly?: boolean
  /** Also count every match (`total`), with the same filter and from the same snapshot as the page. Default false (one query less). */
  includeTotal?: boolean
  includeDeleted?: boolean
}

export interface ListResult<S extends ModelShape> {
  records: ModelRecord<S>[]
  /** Records returned (the total matching with `countOnly`). */
  count: number
  limit: number
  /** Whether more records match after this page (read `offset + limit` next). */
  hasMore: boolean
  /** Every record matching the filter, ignoring limit and offset: with `includeTotal` or `countOnly`. */
  total?: number
}

export interface CountInput<S extends ModelShape> {
  filter?: RecordFilter<S>
  includeDeleted?: boolean
}

export interface UpsertInput<S extends ModelShape> {
  where: RecordFilter<S>
  update?: FieldsInput<S>
  create?: Partial<CreateInput<S>>
  /** Fields that identify the record (default: the keys of `where`). */
  conflictOn?: string[]
}

export interface UpsertResult<S extends ModelShape> {
  created: boolean
  action: 'created' | 'updated'
  record: ModelRecord<S>
}

export interface BulkCreateInput<S extends ModelShape> {
  data: CreateInput<S>[]
  /** Rows per INSERT statement (default 1000); every batch runs in one transaction. */
  batchSize?: number
  /** On a duplicate key: fail everything (default), skip the row, or update the existing row. */
  conflictResolution?: 'error' | 'skip' | 'update'
  conflictOn?: string[]
  returnIds?: boolean
}

export interface BulkCreateResult<S extends ModelShape> {
  processed: number
  inserted: number
  skipped?: number
  updated?: number
  ids?: ModelKey<S>[]
  success: true
}

export interface BulkUpdateInput<S extends ModelShape> {
  filter?: RecordFilter<S>
  fields?: FieldsInput<S>
  /** Per-record updates instead of filter + fields. */
  data?: (FieldsInput<S> & { id: ModelKey<S> })[]
  /** Required to update every record with an empty filter. */
  confirmed?: boolean
}

export interface BulkDeleteInput<S extends ModelShape> {
  filter?: RecordFilter<S>
  ids?: ModelKey<S>[]
  /** Required to delete every record with an empty filter. */
  confirmed?: boolean
}

export interface BulkUpsertInput<S extends ModelShape> {
  data: CreateInput<S>[]
  /** Default: the key when callers supply it, else the first unique index. */
  conflictOn?: string[]
  batchSize?: number
  returnIds?: boolean
}

export interface BulkUpsertResult<S extends ModelShape> {
  processed: number
  upserted: number
  inserted: number
  updated: number
  ids?: ModelKey<S>[]
  success: true
}
