import type { FieldKind } from '../../../protocol/dataflow-manifest.js'
import type { FieldSpec } from '../../model.js'
import type { Codec, ErrorClass, SqlDialect } from '../dialect.js'
import { jsonEncode, toBuffer, toDate } from '../values.js'
import { sqliteRegexProblem } from './linear-regex.js'

const TYPES: Record<FieldKind, string> = {
  string: 'TEXT',
  enum: 'TEXT',
  // ISO-8601 text in UTC sorts and compares like the instant it names, and stays readable.
  date: 'TEXT',
  json: 'TEXT',
  number: 'REAL',
  integer: 'INTEGER',
  boolean: 'INTEGER',
  bigint: 'INTEGER',
  bytes: 'BLOB',
}

const ENCODERS: Record<FieldKind, Codec> = {
  string: (v) => v,
  enum: (v) => v,
  number: (v) => v,
  integer: (v) => v,
  boolean: (v) => (v == null ? null : v ? 1 : 0),
  date: (v) => (v == null ? null : toDate(v).toISOString()),
  json: jsonEncode,
  bigint: (v) => (v == null ? null : BigInt(v as bigint)),
  bytes: (v) => (v == null ? null : toBuffer(v)),
}

// Reads run with safeIntegers, so every INTEGER arrives as a bigint and nothing past 2^53 is
// rounded; each kind converts back to its JS type here.
const DECODERS: Record<FieldKind, Codec> = {
  string: (v) => v,
  enum: (v) => v,
  number: (v) => (typeof v === 'bigint' ? Number(v) : v),
  integer: (v) => (typeof v === 'bigint' ? Number(v) : v),
  boolean: (v) => (v == null ? v : Number(v) !== 0),
  date: (v) => (v == null ? v : new Date(v as string)),
  json: (v): unknown => (typeof v === 'string' ? JSON.parse(v) : v),
  bigint: (v) => (v == null || typeof v === 'bigint' ? v : BigInt(v as number)),
  bytes: (v) => v,
}

type Affinity = 'INTEGER' | 'TEXT' | 'BLOB' | 'REAL' | 'NUMERIC'

/** A declared column type's affinity, by SQLite's own rules (https://www.sqlite.org/datatype3.html#determination_of_column_affinity). */
function affinity(type: string): Affinity {
  const t = type.toUpperCase()
  if (t.includes('INT')) return 'INTEGER'
  if (t.includes('CHAR') || t.includes('CLOB') || t.includes('TEXT')) return 'TEXT'
  if (t.includes('BLOB') || t.trim() === '') return 'BLOB'
  if (t.includes('REAL') || t.includes('FLOA') || t.includes('DOUB')) return 'REAL'
  return 'NUMERIC'
}

/**
 * The affinities that store each kind's values as they are written. TEXT affinity turns numbers
 * into text and numeric affinities turn numeric-looking text into numbers, so a string field over
 * a REAL column (or a number field over a TEXT one) reads back another type. BLOB affinity (no
 * declared type) stores anything as given.
 */
const HOLDS: Record<FieldKind, readonly Affinity[]> = {
  string: ['TEXT', 'BLOB'],
  enum: ['TEXT', 'BLOB'],
  number: ['INTEGER', 'REAL', 'NUMERIC', 'BLOB'],
  integer: ['INTEGER', 'REAL', 'NUMERIC', 'BLOB'],
  // REAL would round what exceeds 2^53.
  bigint: ['INTEGER', 'NUMERIC', 'BLOB'],
  boolean: ['INTEGER', 'REAL', 'NUMERIC', 'BLOB'],
  // ISO-8601 text is never numeric-looking, so NUMERIC (a declared DATETIME) keeps it as text.
  date: ['TEXT', 'NUMERIC', 'BLOB'],
  // NUMERIC: a declared JSON type.
  json: ['TEXT', 'NUMERIC', 'BLOB'],
  bytes: ['BLOB'],
}

/**
 * LIKE pattern -> GLOB pattern: GLOB is SQLite's case-sensitive matcher, as LIKE is elsewhere.
 * `\` escapes the next character, as LIKE's default escape does in PostgreSQL and MySQL.
 */
function likeToGlob(pattern: string): string {
  let out = ''
  let escaped = false
  for (const ch of pattern) {
    if (!escaped && ch === '\\') escaped = true
    else {
      if (!escaped && ch === '%') out += '*'
      else if (!escaped && ch === '_') out += '?'
      else if (ch === '*' || ch === '?' || ch === '[') out += `[${ch}]`
      else out += ch
      escaped = false
    }
  }
  return out
}

/** SQLite's SQL: TEXT dates in ISO-8601 UTC, INTEGER booleans, JSON as TEXT, GLOB for a case-sensitive $like. */
export const sqliteDialect: SqlDialect = {
  name: 'sqlite',
  // SQLITE_MAX_VARIABLE_NUMBER's default since 3.32.
  maxParams: 32766,
  quote: (identifier) => `"${identifier}"`,
  placeholder: () => '?',
  columnType: (field: FieldSpec) => TYPES[field.kind],
  columnDefinition: (field: FieldSpec) => `${TYPES[field.kind]}${field.optional ? '' : ' NOT NULL'}`,
  // Plain INTEGER PRIMARY KEY is the rowid: the fastest key SQLite has.
  primaryKeyDefinition: (field) => (field.kind === 'string' ? `"${field.column}" TEXT NOT NULL PRIMARY KEY` : `"${field.column}" INTEGER PRIMARY KEY`),
  tableSuffix: '',
  encoder: (kind) => ENCODERS[kind],
  decoder: (kind) => DECODERS[kind],
  like: (column, placeholder, pattern) => ({ sql: `${column} GLOB ${placeholder}`, value: likeToGlob(pattern) }),
  // SQLite's LIKE has no escape character unless given one (string literals have no escapes).
  ilike: (column, placeholder) => `LOWER(${column}) LIKE LOWER(${placeholder}) ESCAPE '\\'`,
  // `x REGEXP y` calls the regexp() function the driver registers (JavaScript RegExp, linear-time engine).
  regex: (column, placeholder) => `${column} REGEXP ${placeholder}`,
  regexProblem: sqliteRegexProblem,
  nullsOrder: () => '',
  forUpdate: '',
  upsertClause: (conflict, update) =>
    update.length === 0 ? ` ON CONFLICT (${conflict.map((c) => `"${c}"`).join(', ')}) DO NOTHING` : ` ON CONFLICT (${conflict.map((c) => `"${c}"`).join(', ')}) DO UPDATE SET ${update.map((c) => `"${c}" = excluded."${c}"`).join(', ')}`,
  ignoreClause: () => ' ON CONFLICT DO NOTHING',
  ignoreReturnsOnlyInserted: true,
  // A rowid key continues after the largest key in the table.
  syncGeneratedKeys: () => undefined,
  columnsQuery: (table) => ({ sql: 'SELECT name, type FROM pragma_table_info(?)', params: [table] }),
  holdsKind: (type, kind) => HOLDS[kind].includes(affinity(type)),
  retypeHint: (table) =>
    `SQLite cannot change a column's type in place: create a new table with the model's column types, copy the rows of "${table}" into it (converting the values), drop the old table and rename the new one (https://www.sqlite.org/lang_altertable.html#otheralter)`,
  indexesQuery: (table) => ({ sql: 'SELECT name FROM pragma_index_list(?)', params: [table] }),
  classifyError(error): ErrorClass {
    const raw = (error as { code?: unknown }).code
    const code = typeof raw === 'string' ? raw : ''
    const message = error instanceof Error ? error.message : ''
    if (code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY') return 'unique'
    if (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED')) return 'busy'
    if (/no such table/i.test(message)) return 'missing_table'
    if (/no such column|has no column named/i.test(message)) return 'missing_column'
    return 'other'
  },
}
