import { ValidationError } from '../errors.js'
import type { TableCodec } from './codec.js'
import type { Params } from './dialects/dialect.js'
import type { FieldSpec } from './model.js'
import { regexProblem } from './safe-regex.js'

/** The comparison operators a field condition may use; a plain value means `$eq`. */
export const FILTER_OPERATORS = ['$eq', '$ne', '$gt', '$gte', '$lt', '$lte', '$in', '$nin', '$like', '$ilike', '$regex', '$exists', '$null'] as const
export type FilterOperator = (typeof FILTER_OPERATORS)[number]

// JSON callers send dates as ISO strings and bigints as digit strings.
type Scalar<T> = T extends Date ? Date | string : T extends bigint ? bigint | number | string : T
/** Conditions on one field. */
export type FieldCondition<T> =
  | Scalar<T>
  | null
  | {
      $eq?: Scalar<T> | null
      $ne?: Scalar<T> | null
      $gt?: Scalar<T>
      $gte?: Scalar<T>
      $lt?: Scalar<T>
      $lte?: Scalar<T>
      $in?: (Scalar<T> | null)[]
      $nin?: (Scalar<T> | null)[]
      $like?: string
      $ilike?: string
      /**
       * A regular expression in JavaScript syntax, run by the database (`~` on PostgreSQL, `REGEXP`
       * on MySQL, a JavaScript RegExp on SQLite). Refused before any SQL runs, on every dialect:
       * patterns longer than `MAX_REGEX_LENGTH` (256), patterns that do not compile, a repeated
       * group holding a quantifier or `|` (`(a+)+`, `(a|b)*`), back-references, lookaround, and
       * more than `MAX_REGEX_CHOICES` (10) quantifiers and alternations; see `safe-regex.ts`.
       */
      $regex?: string
      $exists?: boolean
      $null?: boolean
    }

/** A MongoDB-style filter over a model's records. */
export type Filter<R = Record<string, unknown>> = { [K in keyof R]?: FieldCondition<R[K]> } & {
  $and?: Filter<R>[]
  $or?: Filter<R>[]
  $not?: Filter<R>
}

const OPERATORS = new Set<string>(FILTER_OPERATORS)
const MAX_DEPTH = 16

// A bad filter is the caller's input failing validation: a 400, like params failing their schema.
function filterError(message: string, details: Record<string, unknown> = {}): ValidationError {
  return new ValidationError(`Invalid filter: ${message}`, [], { details })
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false
  const proto = Object.getPrototypeOf(value) as unknown
  return proto === Object.prototype || proto === null
}

/**
 * Compiles a filter into a SQL condition whose values are all bound through `params`. Field names
 * are looked up in the model (field or column name); anything else is an error naming it, so a
 * key is never spliced into SQL. Returns `''` exactly when the filter restricts nothing: `{}`, or
 * conditions that are all `undefined`, empty `$and`s and `$or`s with an empty branch.
 */
export function compileFilter(filter: unknown, codec: TableCodec, params: Params): string {
  if (filter === undefined || filter === null) return ''
  return new FilterCompiler(codec, params).group(filter, 'AND', 0)
}

class FilterCompiler {
  constructor(
    readonly codec: TableCodec,
    readonly params: Params,
  ) {}

  group(filter: unknown, joiner: 'AND' | 'OR', depth: number): string {
    if (depth > MAX_DEPTH) throw filterError(`nested deeper than ${MAX_DEPTH} levels`)
    if (!isPlainObject(filter)) throw filterError(`expected an object of conditions, got ${describe(filter)}`)
    const parts: string[] = []
    for (const [key, value] of Object.entries(filter)) {
      if (value === undefined) continue
      if (key === '$and' || key === '$or') {
        if (!Array.isArray(value)) throw filterError(`${key} takes an array of filters`)
        const bound = this.params.values.length
        const inner = value.map((item) => this.group(item, 'AND', depth + 1))
        // '' means "restricts nothing", and callers rely on that to tell an empty filter (which
        // BulkUpdate/BulkDelete refuse without `confirmed`) from a real one: so an $and of empty
        // filters, or an $or with one, adds no condition instead of an always-true one.
        // An empty $or matches nothing.
        const restricting = inner.filter((part) => part !== '')
        if (key === '$or' && value.length === 0) parts.push('1 = 0')
        else if (key === '$or' && restricting.length === inner.length) parts.push(`(${restricting.join(' OR ')})`)
        else if (key === '$and' && restricting.length > 0) parts.push(`(${restricting.join(' AND ')})`)
        // A dropped $or leaves no placeholders for the values its other branches bound.
        else this.params.values.length = bound
      } else if (key === '$not') {
        const inner = this.group(value, 'AND', depth + 1)
        parts.push(inner === '' ? '1 = 0' : `NOT (${inner})`)
      } else if (key.startsWith('$')) {
        throw filterError(`unknown operator "${key}" at the top level; use $and, $or, $not or a field name`, { key })
      } else {
        parts.push(this.field(key, value))
      }
    }
    if (parts.length === 0) return ''
    return parts.length === 1 ? (parts[0] as string) : `(${parts.join(` ${joiner} `)})`
  }

  field(name: string, condition: unknown): string {
    const column = this.codec.column(name)
    if (column === undefined) {
      const known = this.codec.model.columns.map((c) => c.name).join(', ')
      throw filterError(`model "${this.codec.model.name}" has no field ${JSON.stringify(name)} (fields: ${known})`, { field: name })
    }
    if (!isPlainObject(condition)) return this.compare(column.field, column.quoted, '$eq', condition)
    const ops = Object.entries(condition).filter(([, v]) => v !== undefined)
    if (ops.length === 0) throw filterError(`field "${name}" has an empty condition`, { field: name })
    const parts = ops.map(([op, value]) => {
      if (!OPERATORS.has(op)) throw filterError(`unknown operator ${JSON.stringify(op)} on field "${name}" (operators: ${FILTER_OPERATORS.join(' ')})`, { field: name, operator: op })
      return this.compare(column.field, column.quoted, op as FilterOperator, value)
    })
    return parts.length === 1 ? (parts[0] as string) : `(${parts.join(' AND ')})`
  }

  compare(field: FieldSpec, col: string, op: FilterOperator, value: unknown): string {
    const sql = this.codec.sql
    switch (op) {
      case '$eq':
        return value === null ? `${col} IS NULL` : `${col} = ${this.bind(field, op, value)}`
      case '$ne':
        // MongoDB semantics: "not equal to x" includes records where the field is empty.
        return value === null ? `${col} IS NOT NULL` : `(${col} <> ${this.bind(field, op, value)} OR ${col} IS NULL)`
      case '$gt':
      case '$gte':
      case '$lt':
      case '$lte': {
        if (value === null) throw filterError(`${op} on field "${field.name}" needs a value, not null`, { field: field.name })
        if (field.kind === 'boolean' || field.kind === 'json' || field.kind === 'bytes') throw filterError(`${op} does not apply to ${field.kind} field "${field.name}"`, { field: field.name })
        const symbol = { $gt: '>', $gte: '>=', $lt: '<', $lte: '<=' }[op]
        return `${col} ${symbol} ${this.bind(field, op, value)}`
      }
      case '$in':
      case '$nin': {
        if (!Array.isArray(value)) throw filterError(`${op} on field "${field.name}" takes an array`, { field: field.name })
        const withNull = value.includes(null)
        const values = value.filter((v) => v !== null)
        const list = values.map((v) => this.bind(field, op, v)).join(', ')
        if (op === '$in') {
          const parts = [...(values.length > 0 ? [`${col} IN (${list})`] : []), ...(withNull ? [`${col} IS NULL`] : [])]
          return parts.length === 0 ? '1 = 0' : parts.length === 1 ? (parts[0] as string) : `(${parts.join(' OR ')})`
        }
        if (values.length === 0) return withNull ? `${col} IS NOT NULL` : '1 = 1'
        return withNull ? `(${col} NOT IN (${list}) AND ${col} IS NOT NULL)` : `(${col} NOT IN (${list}) OR ${col} IS NULL)`
      }
      case '$like':
      case '$ilike':
      case '$regex': {
        if (typeof value !== 'string') throw filterError(`${op} on field "${field.name}" takes a string pattern`, { field: field.name })
        if (field.kind !== 'string' && field.kind !== 'enum') throw filterError(`${op} applies to text fields; "${field.name}" is ${field.kind}`, { field: field.name })
        // "\" escapes the next character in a pattern, as in PostgreSQL and MySQL; one left at the
        // end escapes nothing (PostgreSQL fails the query, MySQL matches a backslash).
        if (op !== '$regex' && /(?:^|[^\\])(?:\\\\)*\\$/.test(value)) {
          throw filterError(`${op} on field "${field.name}" ends in a lone escape character "\\" (write "\\\\" to match a backslash)`, { field: field.name })
        }
        if (op === '$like') {
          const like = sql.like(col, sql.placeholder(this.params.values.length + 1), value)
          this.params.values.push(like.value)
          return like.sql
        }
        if (op === '$regex') {
          const problem = regexProblem(value) ?? sql.regexProblem?.(value)
          if (problem !== undefined) throw filterError(`$regex on field "${field.name}": the pattern ${problem}`, { field: field.name, operator: op })
          return sql.regex(col, this.params.bind(value))
        }
        return sql.ilike(col, this.params.bind(value))
      }
      case '$exists':
      case '$null': {
        if (typeof value !== 'boolean') throw filterError(`${op} on field "${field.name}" takes true or false`, { field: field.name })
        const isNull = op === '$null' ? value : !value
        return isNull ? `${col} IS NULL` : `${col} IS NOT NULL`
      }
    }
  }

  /** Checks a comparison value against the field's kind, converts it and binds it. */
  bind(field: FieldSpec, op: string, value: unknown): string {
    return this.params.bind(this.codec.sql.encoder(field.kind)(filterValue(field, op, value)))
  }
}

function describe(value: unknown): string {
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'an array'
  return typeof value
}

/** A filter value as the JS type its field stores (JSON callers send dates and bigints as strings). */
export function filterValue(field: FieldSpec, op: string, value: unknown): unknown {
  const fail = (expected: string) => filterError(`${op} on field "${field.name}" expects ${expected}, got ${describe(value)}`, { field: field.name, operator: op })
  switch (field.kind) {
    case 'string':
      if (typeof value !== 'string') throw fail('a string')
      return value
    case 'enum':
      if (typeof value !== 'string') throw fail('a string')
      return value
    case 'number':
      if (typeof value !== 'number' || !Number.isFinite(value)) throw fail('a finite number')
      return value
    case 'integer':
      // Ids often arrive as text from templates and URLs.
      if (typeof value === 'string' && /^-?\d{1,15}$/.test(value)) return Number(value)
      if (typeof value !== 'number' || !Number.isSafeInteger(value)) throw fail('an integer')
      return value
    case 'boolean':
      if (typeof value !== 'boolean') throw fail('true or false')
      return value
    case 'date': {
      const date = value instanceof Date ? value : typeof value === 'string' || typeof value === 'number' ? new Date(value) : undefined
      if (date === undefined || Number.isNaN(date.getTime())) throw fail('a Date or an ISO-8601 string')
      return date
    }
    case 'bigint':
      if (typeof value === 'bigint') return value
      if ((typeof value === 'number' && Number.isSafeInteger(value)) || (typeof value === 'string' && /^-?\d+$/.test(value))) return BigInt(value)
      throw fail('a bigint, an integer or a string of digits')
    case 'json':
    case 'bytes':
      throw filterError(`field "${field.name}" is ${field.kind}: only $null and $exists (or null) apply to it`, { field: field.name })
  }
}
