import { z } from 'zod'
import { jsonValueSchema } from './json.js'

/** Column kinds a zod field maps to; each dialect picks its natural column type for each. */
export const FIELD_KINDS = ['string', 'number', 'integer', 'boolean', 'date', 'enum', 'bigint', 'json', 'bytes'] as const
export type FieldKind = (typeof FIELD_KINDS)[number]

export const DIALECTS = ['sqlite', 'postgres', 'mysql'] as const
export type Dialect = (typeof DIALECTS)[number]

export const fieldManifestSchema = z.object({
  name: z.string(),
  column: z.string(),
  kind: z.enum(FIELD_KINDS),
  optional: z.boolean(),
  hasDefault: z.boolean(),
  primaryKey: z.boolean(),
  /** Allowed values of an enum field. */
  values: z.array(z.string()).optional(),
})

export const modelManifestSchema = z.object({
  name: z.string(),
  tableName: z.string(),
  softDelete: z.boolean(),
  /** `text`: the caller supplies a string id; `integer`: the database generates one. */
  primaryKey: z.enum(['text', 'integer']),
  fields: z.array(fieldManifestSchema),
  indexes: z.array(z.object({ name: z.string(), fields: z.array(z.string()), unique: z.boolean() })),
  /** The 11 generated node type names, e.g. `UserCreateNode`. */
  nodeTypes: z.array(z.string()),
})

/**
 * A DataFlow instance described as plain data: what discovery carries from a worker to the main
 * thread. Credentials in `databaseUrl` are redacted.
 */
export const dataflowManifestSchema = z.object({
  dialect: z.enum(DIALECTS),
  databaseUrl: z.string(),
  options: z.record(z.string(), jsonValueSchema),
  models: z.array(modelManifestSchema),
})

export type FieldManifest = z.infer<typeof fieldManifestSchema>
export type ModelManifest = z.infer<typeof modelManifestSchema>
export type DataFlowManifest = z.infer<typeof dataflowManifestSchema>
