import type { FieldKind } from '../../../protocol/dataflow-manifest.js'
import type { FieldSpec } from '../../model.js'
import type { Codec, ErrorClass, SqlDialect } from '../dialect.js'
import { jsonEncode, toBuffer, toDate } from '../values.js'

/** Longest VARCHAR an index can cover in utf8mb4 (3072 bytes / 4). */
const MAX_INDEXED_VARCHAR = 768

function stringType(field: FieldSpec, indexed: boolean): string {
  if (field.maxLength !== undefined && field.maxLength <= MAX_INDEXED_VARCHAR) return `VARCHAR(${Math.max(field.maxLength, 1)})`
  // A text column cannot be indexed without a prefix length: keys and indexed strings get
  // VARCHAR(255). Others get LONGTEXT, not TEXT: TEXT stops at 64 KB, and a string that fits in
  // PostgreSQL or SQLite must fit here too.
  return indexed || field.primaryKey ? 'VARCHAR(255)' : 'LONGTEXT'
}

const TYPES: Record<Exclude<FieldKind, 'string'>, string> = {
  enum: 'VARCHAR(255)',
  number: 'DOUBLE',
  integer: 'BIGINT',
  boolean: 'TINYINT(1)',
  // Millisecond precision, like a JS Date; stored and read as UTC (the pool sets timezone 'Z').
  date: 'DATETIME(3)',
  bigint: 'BIGINT',
  json: 'JSON',
  bytes: 'LONGBLOB',
}

function columnType(field: FieldSpec, indexed: boolean): string {
  return field.kind === 'string' ? stringType(field, indexed) : TYPES[field.kind]
}

const ENCODERS: Record<FieldKind, Codec> = {
  string: (v) => v,
  enum: (v) => v,
  number: (v) => v,
  integer: (v) => v,
  boolean: (v) => (v == null ? null : v ? 1 : 0),
  date: (v) => (v == null ? null : toDate(v)),
  json: jsonEncode,
  bigint: (v) => (v == null ? null : BigInt(v as bigint)),
  bytes: (v) => (v == null ? null : toBuffer(v)),
}

// The pool returns BIGINT as strings (supportBigNumbers + bigNumberStrings) and JSON as text
// (MariaDB's JSON is LONGTEXT; MySQL's would be parsed): every kind converts here, one way.
const DECODERS: Record<FieldKind, Codec> = {
  string: (v) => v,
  enum: (v) => v,
  number: (v) => (v == null ? v : Number(v)),
  integer: (v) => (v == null ? v : Number(v)),
  boolean: (v) => (v == null ? v : Number(v) !== 0),
  date: (v) => (v == null || v instanceof Date ? v : new Date(v as string)),
  json: (v): unknown => (typeof v === 'string' ? JSON.parse(v) : Buffer.isBuffer(v) ? JSON.parse(v.toString('utf8')) : v),
  bigint: (v) => (v == null ? v : BigInt(v as string)),
  bytes: (v) => v,
}

const q = (identifier: string) => `\`${identifier}\``

type Family = 'text' | 'integer' | 'decimal' | 'float' | 'timestamp' | 'json' | 'bytes'

/** The first word of `information_schema.COLUMNS.COLUMN_TYPE` (`varchar(255)`, `int(10) unsigned`) -> the family of values it holds. */
const FAMILIES: Record<string, Family> = {
  char: 'text',
  varchar: 'text',
  tinytext: 'text',
  text: 'text',
  mediumtext: 'text',
  longtext: 'text',
  enum: 'text',
  set: 'text',
  tinyint: 'integer',
  smallint: 'integer',
  mediumint: 'integer',
  int: 'integer',
  integer: 'integer',
  bigint: 'integer',
  decimal: 'decimal',
  numeric: 'decimal',
  float: 'float',
  double: 'float',
  real: 'float',
  datetime: 'timestamp',
  timestamp: 'timestamp',
  json: 'json',
  binary: 'bytes',
  varbinary: 'bytes',
  tinyblob: 'bytes',
  blob: 'bytes',
  mediumblob: 'bytes',
  longblob: 'bytes',
}

/** The families whose columns take each kind's values without an error, a rounding or a conversion. */
const HOLDS: Record<FieldKind, readonly Family[]> = {
  string: ['text'],
  enum: ['text'],
  number: ['float', 'decimal'],
  integer: ['integer', 'decimal', 'float'],
  bigint: ['integer', 'decimal'],
  // TINYINT(1) is MySQL's BOOLEAN.
  boolean: ['integer'],
  date: ['timestamp'],
  // MariaDB's JSON is LONGTEXT.
  json: ['json', 'text'],
  bytes: ['bytes'],
}

/** MySQL / MariaDB SQL: backticks, DATETIME(3) in UTC, utf8mb4_bin tables, ON DUPLICATE KEY upserts. */
export const mysqlDialect: SqlDialect = {
  name: 'mysql',
  maxParams: 65535,
  quote: q,
  placeholder: () => '?',
  columnType,
  columnDefinition: (field: FieldSpec, indexed: boolean) => `${columnType(field, indexed)}${field.optional ? ' NULL' : ' NOT NULL'}`,
  primaryKeyDefinition: (field) => (field.kind === 'string' ? `${q(field.column)} ${stringType(field, true)} NOT NULL PRIMARY KEY` : `${q(field.column)} BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY`),
  // A binary collation makes equality, LIKE, REGEXP and unique keys case-sensitive, as they are
  // in PostgreSQL and SQLite: the same filter finds the same rows on every dialect.
  tableSuffix: ' ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin',
  encoder: (kind) => ENCODERS[kind],
  decoder: (kind) => DECODERS[kind],
  like: (column, placeholder, pattern) => ({ sql: `${column} LIKE ${placeholder}`, value: pattern }),
  ilike: (column, placeholder) => `LOWER(${column}) LIKE LOWER(${placeholder})`,
  regex: (column, placeholder) => `${column} REGEXP ${placeholder}`,
  nullsOrder: () => '',
  forUpdate: ' FOR UPDATE',
  // VALUES(col) rather than MySQL 8's row alias: MariaDB only knows the former.
  upsertClause: (_conflict, update) => ` ON DUPLICATE KEY UPDATE ${update.length === 0 ? `${q(_conflict[0] as string)} = ${q(_conflict[0] as string)}` : update.map((c) => `${q(c)} = VALUES(${q(c)})`).join(', ')}`,
  // Not INSERT IGNORE: that also turns bad data into warnings. A no-op update skips only conflicts.
  ignoreClause: (primaryKey) => ` ON DUPLICATE KEY UPDATE ${q(primaryKey)} = ${q(primaryKey)}`,
  ignoreReturnsOnlyInserted: false,
  // AUTO_INCREMENT moves past any key inserted.
  syncGeneratedKeys: () => undefined,
  columnsQuery: (table) => ({ sql: 'SELECT COLUMN_NAME AS name, COLUMN_TYPE AS type FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?', params: [table] }),
  holdsKind: (type, kind) => {
    const family = FAMILIES[/^[a-z]+/.exec(type.toLowerCase())?.[0] ?? '']
    return family === undefined || HOLDS[kind].includes(family)
  },
  // MODIFY restates the whole column, nullability included.
  retypeHint: (table, field, indexed) => `ALTER TABLE ${q(table)} MODIFY ${q(field.column)} ${columnType(field, indexed)}${field.optional ? ' NULL' : ' NOT NULL'}`,
  indexesQuery: (table) => ({ sql: 'SELECT DISTINCT INDEX_NAME AS name FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?', params: [table] }),
  classifyError(error): ErrorClass {
    switch ((error as { errno?: unknown }).errno) {
      case 1062:
        return 'unique'
      case 1146:
        return 'missing_table'
      case 1054:
        return 'missing_column'
      case 1205:
      case 1213:
        return 'busy'
      default:
        return 'other'
    }
  },
}
