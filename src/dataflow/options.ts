import { basename } from 'node:path'
import { z } from 'zod'
import { NexflowError } from '../errors.js'
import type { NodeRegistry } from '../workflow/registry.js'
import { defaultSqlitePath, parseDatabaseUrl, type DatabaseTarget } from './database-url.js'

/** Where DataFlow writes warnings (slow queries, a model re-defined by another instance). */
export interface DataFlowLogger {
  warn(message: string): void
}

/**
 * Every default in one place. Where the source system had a default its users rely on, we keep it
 * (`autoMigrate`, `enableModelPersistence`); the rest favour doing nothing extra.
 */
export const DATAFLOW_DEFAULTS = {
  /** The source system migrated by default; ported apps expect their tables to appear. */
  autoMigrate: true,
  skipMigration: false,
  skipRegistry: false,
  /** As in the source system; the write happens with migrations, never at definition time. */
  enableModelPersistence: true,
  connectionPoolSize: 10,
  enableMetrics: false,
  enableCaching: false,
  cacheTtlMs: 60_000,
  cacheMaxEntries: 1000,
  slowQueryMs: 1000,
  migrationLockTimeoutMs: 30_000,
} as const

const registrySchema = z.custom<NodeRegistry>(
  (value) => typeof value === 'object' && value !== null && typeof (value as NodeRegistry).register === 'function' && typeof (value as NodeRegistry).get === 'function',
  'must be a NodeRegistry',
)
const loggerSchema = z.custom<DataFlowLogger>((value) => typeof value === 'object' && value !== null && typeof (value as DataFlowLogger).warn === 'function', 'must have a warn(message) method')

/** The options `new DataFlow(options)` accepts. Unknown keys are an error that names them. */
export const dataflowOptionsSchema = z.strictObject({
  /** See `parseDatabaseUrl`. Default: `DATABASE_URL`, else `<cwd>/.nexflow/dataflow.db`. */
  databaseUrl: z.string().min(1).optional(),
  /** Create missing tables, columns and indexes at first use (additive only). */
  autoMigrate: z.boolean().optional(),
  /** Never inspect or change the schema before use: the tables are managed elsewhere. `migrate()` still works when called. */
  skipMigration: z.boolean().optional(),
  /** Never read or write the `dataflow_model_registry` table (turns model persistence off). */
  skipRegistry: z.boolean().optional(),
  /** Keep model definitions in `dataflow_model_registry` when migrating, for other apps to load. */
  enableModelPersistence: z.boolean().optional(),
  /** Connections per pool (PostgreSQL, MySQL). SQLite always uses one connection per thread. */
  connectionPoolSize: z.number().int().min(1).max(1000).optional(),
  /** Per-node call counts, errors and latency histograms, read with `db.metrics()`. */
  enableMetrics: z.boolean().optional(),
  /** Cache Read/List/Count results in this thread; any write through this instance drops the model's entries. */
  enableCaching: z.boolean().optional(),
  cacheTtlMs: z.number().int().min(1).optional(),
  cacheMaxEntries: z.number().int().min(1).optional(),
  /** Log (and with metrics, record) statements slower than this; `null` turns it off. */
  slowQueryMs: z.number().min(0).nullable().optional(),
  /** How long a migrator waits for another one to finish before `MIGRATION_LOCK_TIMEOUT`. */
  migrationLockTimeoutMs: z.number().int().min(0).optional(),
  /** Names this app in `dataflow_model_registry`. Default: the base name of the working directory. */
  applicationId: z.string().min(1).max(255).optional(),
  /** Where the generated nodes are registered. Default: the thread's `defaultRegistry()`. */
  registry: registrySchema.optional(),
  logger: loggerSchema.optional(),
})

/** What `new DataFlow(options)` accepts (see {@link dataflowOptionsSchema} for each option). */
export type DataFlowOptions = z.input<typeof dataflowOptionsSchema>

/** Options after validation and defaults: what the rest of DataFlow reads. */
export interface ResolvedDataFlowOptions {
  target: DatabaseTarget
  autoMigrate: boolean
  skipMigration: boolean
  skipRegistry: boolean
  enableModelPersistence: boolean
  connectionPoolSize: number
  enableMetrics: boolean
  enableCaching: boolean
  cacheTtlMs: number
  cacheMaxEntries: number
  slowQueryMs: number | null
  migrationLockTimeoutMs: number
  applicationId: string
  registry: NodeRegistry | undefined
  logger: DataFlowLogger
}

/** `auto_migrate` -> `autoMigrate`: the spelling a source-system user most likely meant. */
function camelCase(key: string): string {
  return key.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase())
}

function describeIssues(error: z.ZodError): string {
  const known = Object.keys(dataflowOptionsSchema.shape)
  return error.issues
    .map((issue) => {
      if (issue.code === 'unrecognized_keys') {
        return issue.keys
          .map((key) => {
            const hint = known.includes(camelCase(key)) ? `did you mean "${camelCase(key)}"?` : `known options: ${known.join(', ')}`
            return `unknown option "${key}" (${hint})`
          })
          .join('; ')
      }
      return `option "${issue.path.join('.')}" ${issue.message}`
    })
    .join('; ')
}

function conflict(a: string, b: string, fix: string): NexflowError {
  return new NexflowError('CONFIG_INVALID', `DataFlow options "${a}" and "${b}" are both true and contradict each other; ${fix}`, { details: { options: [a, b] } })
}

/**
 * Validates options and applies defaults, once, when a DataFlow is created. Reads `DATABASE_URL`
 * and the working directory; does no I/O.
 */
export function resolveDataFlowOptions(input: unknown, env: NodeJS.ProcessEnv = process.env, cwd: string = process.cwd()): ResolvedDataFlowOptions {
  const parsed = dataflowOptionsSchema.safeParse(input ?? {})
  if (!parsed.success) {
    throw new NexflowError('CONFIG_INVALID', `Invalid DataFlow options: ${describeIssues(parsed.error)}`, { cause: parsed.error, details: { issues: parsed.error.issues } })
  }
  const o = parsed.data
  // Explicit contradictions are errors; a default simply yields to an explicit opposite.
  if (o.autoMigrate === true && o.skipMigration === true) throw conflict('autoMigrate', 'skipMigration', 'keep one of them')
  if (o.enableModelPersistence === true && o.skipRegistry === true) throw conflict('enableModelPersistence', 'skipRegistry', 'keep one of them')
  const skipMigration = o.skipMigration ?? DATAFLOW_DEFAULTS.skipMigration
  const skipRegistry = o.skipRegistry ?? DATAFLOW_DEFAULTS.skipRegistry
  const databaseUrl = o.databaseUrl ?? (env.DATABASE_URL?.trim() ? env.DATABASE_URL.trim() : defaultSqlitePath(cwd))
  return {
    target: parseDatabaseUrl(databaseUrl, cwd),
    autoMigrate: skipMigration ? false : (o.autoMigrate ?? DATAFLOW_DEFAULTS.autoMigrate),
    skipMigration,
    skipRegistry,
    enableModelPersistence: skipRegistry ? false : (o.enableModelPersistence ?? DATAFLOW_DEFAULTS.enableModelPersistence),
    connectionPoolSize: o.connectionPoolSize ?? DATAFLOW_DEFAULTS.connectionPoolSize,
    enableMetrics: o.enableMetrics ?? DATAFLOW_DEFAULTS.enableMetrics,
    enableCaching: o.enableCaching ?? DATAFLOW_DEFAULTS.enableCaching,
    cacheTtlMs: o.cacheTtlMs ?? DATAFLOW_DEFAULTS.cacheTtlMs,
    cacheMaxEntries: o.cacheMaxEntries ?? DATAFLOW_DEFAULTS.cacheMaxEntries,
    slowQueryMs: o.slowQueryMs === undefined ? DATAFLOW_DEFAULTS.slowQueryMs : o.slowQueryMs,
    migrationLockTimeoutMs: o.migrationLockTimeoutMs ?? DATAFLOW_DEFAULTS.migrationLockTimeoutMs,
    applicationId: o.applicationId ?? (basename(cwd) || 'app'),
    registry: o.registry,
    logger: o.logger ?? console,
  }
}
