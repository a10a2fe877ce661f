import { NexflowError } from '../errors.js'
import type { SqlDialect } from './dialects/dialect.js'
import type { ModelSpec } from './model.js'

/**
 * Wraps a driver error once, at the DataFlow boundary, keeping it as `cause`: duplicate keys are
 * `CONFLICT`, a missing table or column is `MIGRATION_REQUIRED` (the schema is behind the model),
 * anything else `DATABASE_ERROR`. Messages name the model and the redacted URL, never values.
 */
export function toDataflowError(error: unknown, spec: ModelSpec, sql: SqlDialect | undefined, databaseUrl: string): NexflowError {
  if (error instanceof NexflowError) return error
  const message = error instanceof Error ? error.message : String(error)
  const details = { model: spec.name, table: spec.tableName }
  switch (sql?.classifyError(error)) {
    case 'unique':
      return new NexflowError('CONFLICT', `${spec.name}: a record with the same unique key already exists in "${spec.tableName}" (${message})`, { cause: error, details })
    case 'missing_table':
    case 'missing_column':
      return new NexflowError('MIGRATION_REQUIRED', `${spec.name}: the database schema is behind the model (${message}). Run \`await db.migrate()\`; \`db.migrationPlan()\` shows the DDL`, { cause: error, details })
    default:
      return new NexflowError('DATABASE_ERROR', `${spec.name}: database error on ${databaseUrl}: ${message}`, { cause: error, details })
  }
}
