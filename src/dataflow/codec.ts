import type { Codec, RawRow, SqlDialect } from './dialects/dialect.js'
import type { FieldSpec, ModelSpec } from './model.js'

/** One column bound to a dialect. */
export interface ColumnCodec {
  readonly field: FieldSpec
  readonly quoted: string
  readonly encode: Codec
  readonly decode: Codec
}

/**
 * A model's columns bound to one dialect: quoted names and value conversions, computed once per
 * model and dialect so the per-row work is a loop over arrays.
 */
export class TableCodec {
  readonly model: ModelSpec
  readonly sql: SqlDialect
  readonly table: string
  /** `"id", "email", ...`: every column the model knows (extra columns in the table are ignored). */
  readonly selectList: string
  readonly columns: readonly ColumnCodec[]
  readonly #byName = new Map<string, ColumnCodec>()
  readonly #defaults = new Map<string, () => unknown>()

  constructor(model: ModelSpec, sql: SqlDialect) {
    this.model = model
    this.sql = sql
    this.table = sql.quote(model.tableName)
    this.columns = model.columns.map((field) => ({ field, quoted: sql.quote(field.column), encode: sql.encoder(field.kind), decode: sql.decoder(field.kind) }))
    for (const column of this.columns) {
      this.#byName.set(column.field.name, column)
      this.#byName.set(column.field.column, column)
    }
    this.selectList = this.columns.map((c) => c.quoted).join(', ')
  }

  /**
   * A function returning the field's zod default, or `undefined` when it has none. Bulk inserts
   * validate rows without applying defaults (an upsert must not overwrite stored values with
   * them) and fill them in here. `.default()` is read directly, anything else through zod.
   */
  defaultOf(field: FieldSpec): (() => unknown) | undefined {
    if (!field.hasDefault || field.schema === undefined || field.role !== 'field') return undefined
    let make = this.#defaults.get(field.name)
    if (make === undefined) {
      const schema = field.schema
      const def = (schema as unknown as { _zod: { def: { type: string; defaultValue?: unknown } } })._zod.def
      make = def.type === 'default' ? () => def.defaultValue : () => schema.parse(undefined)
      this.#defaults.set(field.name, make)
    }
    return make
  }

  /** The column for a field or column name; `undefined` for anything the model does not declare. */
  column(name: string): ColumnCodec | undefined {
    return this.#byName.get(name)
  }

  /** A row as callers see it: field names, JS types; NULL becomes `null` for nullable fields and is left out otherwise. */
  decodeRow(raw: RawRow): Record<string, unknown> {
    const out: Record<string, unknown> = {}
    for (const column of this.columns) {
      const value = raw[column.field.column]
      if (value == null) {
        if (column.field.nullable) out[column.field.name] = null
      } else {
        out[column.field.name] = column.decode(value)
      }
    }
    return out
  }
}
