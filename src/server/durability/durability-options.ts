import { resolve } from 'node:path'
import { z } from 'zod'
import { NexflowError } from '../../errors.js'

/** Every default of durability, in one place. */
export const DURABILITY_DEFAULTS = {
  /** How long an Idempotency-Key is remembered after its first request. */
  idempotencyTtlMs: 24 * 60 * 60 * 1000,
  /** How long a finished async run's status and outputs are kept. */
  keepRunsMs: 7 * 24 * 60 * 60 * 1000,
  /** Async runs one instance executes at once (the rest wait in the queue). */
  concurrency: 8,
  /** Times pg-boss runs a job again after its instance died mid-run (0: the run is marked `interrupted`). */
  retryLimit: 0,
  /** Where the embedded store lives, under the root. */
  sqliteFile: '.nexflow/nexflow.db',
  /** The PostgreSQL schema of nexflow's own tables (pg-boss's is `<schema>_boss`). */
  schema: 'nexflow',
  /** How often pg-boss looks for jobs whose instance died (their expiry passed). */
  maintenanceIntervalSeconds: 30,
} as const

const MAX_MS = 2_147_483_647

/** `durability: { ... }` as a config file or the options give it. */
export const durabilitySchema = z.strictObject({
  /** PostgreSQL URL: shared by every instance. Without it, the embedded SQLite file under the root (one instance). */
  databaseUrl: z
    .string()
    .regex(/^postgres(ql)?:\/\//, { error: 'durability.databaseUrl must be a postgres:// or postgresql:// URL' })
    .optional(),
  /** The schema nexflow's tables and pg-boss live in (PostgreSQL), a plain identifier. */
  schema: z
    .string()
    .regex(/^[a-z_][a-z0-9_]{0,62}$/, { error: 'durability.schema must be a lowercase identifier ([a-z_][a-z0-9_]*, at most 63 characters)' })
    .optional(),
  idempotencyTtlMs: z.number().int().min(1000).max(MAX_MS).optional(),
  keepRunsMs: z.number().int().min(1000).max(MAX_MS).optional(),
  concurrency: z.number().int().min(1).max(1024).optional(),
  retryLimit: z.number().int().min(0).max(10).optional(),
  maintenanceIntervalSeconds: z.number().int().min(1).max(3600).optional(),
  /** The embedded SQLite file, relative to the root (or absolute); default `.nexflow/nexflow.db`. */
  file: z.string().min(1).optional(),
})

export type DurabilityOptions = z.input<typeof durabilitySchema>

export const DURABILITY_HINT =
  'an object { databaseUrl?: "postgres://...", file?, schema?, idempotencyTtlMs?, keepRunsMs?, concurrency?, retryLimit?, maintenanceIntervalSeconds? }, e.g. durability: { databaseUrl: process.env.DATABASE_URL }'

/** Durability with every default applied; `databaseUrl` undefined means the embedded SQLite store. */
export interface ResolvedDurabilityOptions {
  databaseUrl: string | undefined
  schema: string
  /** Absolute path of the SQLite file (used when there is no databaseUrl). */
  sqlitePath: string
  idempotencyTtlMs: number
  keepRunsMs: number
  concurrency: number
  retryLimit: number
  maintenanceIntervalSeconds: number
}

/** Applies the defaults and `NEXFLOW_DURABILITY_URL` (the option wins over the environment). */
/** `root` is absolute (the server resolved it). */
export function resolveDurabilityOptions(given: z.output<typeof durabilitySchema> | undefined, root: string, env: NodeJS.ProcessEnv): ResolvedDurabilityOptions {
  const fromEnv = env.NEXFLOW_DURABILITY_URL?.trim()
  const databaseUrl = given?.databaseUrl ?? (fromEnv === undefined || fromEnv === '' ? undefined : fromEnv)
  if (databaseUrl !== undefined && !/^postgres(ql)?:\/\//.test(databaseUrl)) {
    throw new NexflowError('CONFIG_INVALID', 'Invalid NEXFLOW_DURABILITY_URL: expected a postgres:// or postgresql:// URL', { details: { option: 'NEXFLOW_DURABILITY_URL' } })
  }
  return {
    databaseUrl,
    schema: given?.schema ?? DURABILITY_DEFAULTS.schema,
    sqlitePath: resolve(root, given?.file ?? DURABILITY_DEFAULTS.sqliteFile),
    idempotencyTtlMs: given?.idempotencyTtlMs ?? DURABILITY_DEFAULTS.idempotencyTtlMs,
    keepRunsMs: given?.keepRunsMs ?? DURABILITY_DEFAULTS.keepRunsMs,
    concurrency: given?.concurrency ?? DURABILITY_DEFAULTS.concurrency,
    retryLimit: given?.retryLimit ?? DURABILITY_DEFAULTS.retryLimit,
    maintenanceIntervalSeconds: given?.maintenanceIntervalSeconds ?? DURABILITY_DEFAULTS.maintenanceIntervalSeconds,
  }
}
