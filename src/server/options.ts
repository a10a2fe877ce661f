import { resolve } from 'node:path'
import { z } from 'zod'
import { closestName } from '../closest-name.js'
import { resolveDiscoveryOptions, type DiscoveryOptions, type ResolvedDiscoveryOptions } from '../discovery/options.js'
import { NexflowError } from '../errors.js'
import { DURABILITY_HINT, durabilitySchema, resolveDurabilityOptions, type DurabilityOptions, type ResolvedDurabilityOptions } from './durability/durability-options.js'
import { NEXUS_DEFAULTS } from './nexus-defaults.js'
import { PRODUCTION_HINTS, productionConfigShape, resolveProductionOptions, type ProductionOptions, type ResolvedProductionOptions } from './production-options.js'

// The defaults are apart: `nexflow start` needs the port and host before it loads zod and this module.
export { NEXUS_DEFAULTS }

/** Discovery options as the server takes them: the root is the server's own `root`. */
export type NexusDiscoveryOptions = Omit<DiscoveryOptions, 'root' | 'signal'>

/** Where the server writes what it has to say (warnings from `register`, shutdown notes). */
export interface NexusLogger {
  info(message: string): void
  warn(message: string): void
}

/**
 * Options of {@link Nexus}. Every field is optional; defaults are in {@link NEXUS_DEFAULTS} (and,
 * for auth, rate limits, CORS, secure headers, metrics and logs, in `PRODUCTION_DEFAULTS`).
 */
export interface NexusOptions extends ProductionOptions {
  /** Port of the HTTP API (default 8000); 0 picks a free one (see `nexus.url`). */
  apiPort?: number
  /** Interface to listen on (default `127.0.0.1`; `0.0.0.0` for every interface). */
  host?: string
  /** Also serve MCP (Streamable HTTP, `/mcp`) on this port, as the source system does; it is always at `/mcp` on `apiPort`. */
  mcpPort?: number
  /** Project root: where workflow files are discovered (default the current folder). */
  root?: string
  /** Discover workflow files under `root` in isolated workers (default true), with these discovery options when an object. */
  autoDiscovery?: boolean | NexusDiscoveryOptions
  /** Execution worker threads (default the number of CPUs); each runs one workflow at a time. */
  workers?: number
  /** A run over this deadline is stopped (its worker terminated) and answered 504 `RUN_TIMEOUT` (default 30 s). */
  runTimeoutMs?: number
  /** How long a run may wait for a free execution worker (default 30 s); over it, 504 `RUN_TIMEOUT` without running. */
  queueTimeoutMs?: number
  /** Heap limit of each execution worker in MB (default 1024); a run over it is answered 500 `RUN_OUT_OF_MEMORY`. */
  maxMemoryMb?: number
  /** Request bodies over this many bytes are answered 413 before they are parsed (default 10 MiB). */
  maxRequestBodyBytes?: number
  /**
   * Serve the dashboard at `/` and `/_nexflow/` (default true): the discovery waterfall, every
   * workflow with a form to run it, recent runs. It reads the same JSON as the API, with the same key.
   */
  dashboard?: boolean
  /** How long `close()` lets in-flight runs finish before stopping them (default 10 s). */
  shutdownTimeoutMs?: number
  /** Where warnings go (default: the console). */
  logger?: NexusLogger
  /**
   * Development (`nexflow dev`): watch the root and reload changed workflow files in fresh
   * workers without dropping a request; error answers carry the failing node's stack.
   */
  dev?: boolean
  /**
   * Where async runs, their results and Idempotency-Key records live: the embedded SQLite file
   * `.nexflow/nexflow.db` under the root by default, or PostgreSQL (`databaseUrl`, or the
   * `NEXFLOW_DURABILITY_URL` environment variable), which several instances share.
   */
  durability?: DurabilityOptions
}

export interface ResolvedNexusOptions extends ResolvedProductionOptions {
  apiPort: number
  host: string
  mcpPort: number | undefined
  root: string
  /** `undefined` when discovery is off. */
  discovery: ResolvedDiscoveryOptions | undefined
  workers: number
  runTimeoutMs: number
  queueTimeoutMs: number
  maxMemoryMb: number
  maxRequestBodyBytes: number
  dashboard: boolean
  shutdownTimeoutMs: number
  logger: NexusLogger
  dev: boolean
  durability: ResolvedDurabilityOptions
}

// Node's timers cap at 2^31 - 1 ms; a longer deadline would fire at once.
const MAX_MS = 2_147_483_647

const ms = (min: number) => z.number().int().min(min).max(MAX_MS)

/** The options that are plain data: what a config file and the CLI may set. */
export const nexusConfigSchema = z.strictObject({
  apiPort: z.number().int().min(0).max(65_535).optional(),
  host: z.string().min(1).optional(),
  mcpPort: z.number().int().min(0).max(65_535).optional(),
  root: z.string().min(1).optional(),
  autoDiscovery: z.union([z.boolean(), z.record(z.string(), z.unknown())]).optional(),
  workers: z.number().int().min(1).max(256).optional(),
  runTimeoutMs: ms(1).optional(),
  queueTimeoutMs: ms(1).optional(),
  maxMemoryMb: z.number().int().min(32).max(1_048_576).optional(),
  maxRequestBodyBytes: z.number().int().min(1024).max(1024 * 1024 * 1024).optional(),
  shutdownTimeoutMs: ms(0).optional(),
  dashboard: z.boolean().optional(),
  dev: z.boolean().optional(),
  durability: durabilitySchema.optional(),
  ...productionConfigShape,
})

const optionsSchema = nexusConfigSchema.extend({
  logger: z.custom<NexusLogger>((value) => typeof (value as NexusLogger | null)?.warn === 'function' && typeof (value as NexusLogger).info === 'function').optional(),
})

/** The options a config file holds: `export default defineConfig({ ... })`. */
export type NexusConfig = Omit<NexusOptions, 'logger'>

/** What each option expects, for error messages that say how to fix them. */
const HINTS: Record<keyof NexusOptions, string> = {
  apiPort: 'a port number from 0 to 65535, e.g. apiPort: 8000',
  host: 'an interface name or address, e.g. host: "0.0.0.0"',
  mcpPort: 'a port number from 0 to 65535, e.g. mcpPort: 3001',
  root: 'a path to the project folder, e.g. root: "./app"',
  autoDiscovery: 'true, false, or an object of discovery options, e.g. autoDiscovery: { timeoutMs: 5000 }',
  workers: 'a whole number from 1 to 256, e.g. workers: 4',
  runTimeoutMs: `a whole number of milliseconds from 1 to ${MAX_MS}, e.g. runTimeoutMs: 30_000`,
  queueTimeoutMs: `a whole number of milliseconds from 1 to ${MAX_MS}, e.g. queueTimeoutMs: 30_000`,
  maxMemoryMb: 'a whole number of megabytes, at least 32, e.g. maxMemoryMb: 1024',
  maxRequestBodyBytes: 'a whole number of bytes from 1024 to 1 GiB, e.g. maxRequestBodyBytes: 10_485_760',
  shutdownTimeoutMs: `a whole number of milliseconds from 0 to ${MAX_MS}, e.g. shutdownTimeoutMs: 10_000`,
  dashboard: 'dashboard: true (serve the dashboard at /) or dashboard: false',
  logger: 'an object with info(message) and warn(message), e.g. logger: console',
  dev: 'dev: true (watch and reload) or dev: false',
  durability: DURABILITY_HINT,
  ...PRODUCTION_HINTS,
}

/** The option names, for messages and suggestions. */
export const NEXUS_OPTION_NAMES: readonly string[] = Object.keys(HINTS)

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value)
  if (typeof value === 'number' || typeof value === 'boolean' || value === null || value === undefined) return String(value)
  return typeof value
}

const consoleLogger: NexusLogger = {
  info: (message) => console.log(message),
  warn: (message) => console.warn(message),
}

/**
 * The issue to report: inside a union (`auth: false | { ... }`), the one of the branch the value
 * was meant for, the deepest, rather than "matched no option".
 */
function innermost(issue: z.core.$ZodIssue): z.core.$ZodIssue {
  if (issue.code !== 'invalid_union' || issue.errors.length === 0) return issue
  const candidates = issue.errors.flat().map((inner): z.core.$ZodIssue => {
    const deeper = innermost(inner)
    return { ...deeper, path: [...issue.path, ...deeper.path] }
  })
  const meant = candidates.filter((inner) => inner.code !== 'invalid_type' || inner.path.length > issue.path.length)
  return [...(meant.length > 0 ? meant : candidates)].sort((a, b) => b.path.length - a.path.length)[0] ?? issue
}

/** `auth.apiKeys[0]` */
function dotted(path: readonly PropertyKey[]): string {
  return path.map((part, index) => (typeof part === 'number' ? `[${part}]` : index === 0 ? String(part) : `.${String(part)}`)).join('')
}

/**
 * Validates server options once and applies every default. Throws a `CONFIG_INVALID`
 * {@link NexflowError} naming the option (an unknown one with the closest known name) and the fix.
 * `env` gives `NODE_ENV` (production requires auth) and `NEXFLOW_API_KEYS`.
 */
export function resolveNexusOptions(options: NexusOptions = {}, cwd: string = process.cwd(), env: NodeJS.ProcessEnv = process.env): ResolvedNexusOptions {
  const parsed = optionsSchema.safeParse(options)
  if (!parsed.success) {
    const issue = innermost(parsed.error.issues[0] as z.core.$ZodIssue)
    if (issue.path.length > 1 || (issue.path.length === 1 && (issue.code === 'custom' || issue.code === 'unrecognized_keys'))) {
      // Nested (auth.jwt.secret, cors.origin): the value is not quoted, it may be a secret.
      const key = String(issue.path[0]) as keyof NexusOptions
      const where = issue.code === 'unrecognized_keys' ? [...issue.path, issue.keys[0] ?? ''] : issue.path
      const fix = issue.code === 'unrecognized_keys' || issue.code === 'invalid_type' ? `; expected ${HINTS[key] ?? 'a valid value'}` : ''
      throw new NexflowError('CONFIG_INVALID', `Invalid Nexus option \`${dotted(where)}\`: ${issue.message}${fix}`, {
        details: { option: dotted(where), issue: issue.message },
      })
    }
    if (issue.code === 'unrecognized_keys') {
      const named = issue.keys.map((key) => {
        const closest = closestName(key, NEXUS_OPTION_NAMES)
        return `\`${key}\`${closest === undefined ? '' : ` (did you mean \`${closest}\`?)`}`
      })
      throw new NexflowError('CONFIG_INVALID', `Unknown Nexus option ${named.join(', ')}: remove it; the options are ${NEXUS_OPTION_NAMES.join(', ')}`, {
        details: { options: issue.keys },
      })
    }
    const key = String(issue.path[0]) as keyof NexusOptions
    const value = (options as Record<string, unknown>)[key]
    throw new NexflowError('CONFIG_INVALID', `Invalid Nexus option \`${key}\`: got ${describe(value)}; expected ${HINTS[key] ?? 'a valid value'}`, {
      details: { option: key, issue: issue.message },
    })
  }
  const given = parsed.data
  const root = given.root ?? NEXUS_DEFAULTS.root
  const autoDiscovery = given.autoDiscovery ?? NEXUS_DEFAULTS.autoDiscovery
  let discovery: ResolvedDiscoveryOptions | undefined
  if (autoDiscovery !== false) {
    const extra = autoDiscovery === true ? {} : autoDiscovery
    for (const key of ['root', 'signal']) {
      if (Object.hasOwn(extra, key)) throw new NexflowError('CONFIG_INVALID', `Invalid Nexus option \`autoDiscovery.${key}\`: set the server's own \`${key === 'root' ? 'root' : 'close()'}\` instead`, { details: { option: `autoDiscovery.${key}` } })
    }
    discovery = resolveDiscoveryOptions({ ...(extra as NexusDiscoveryOptions), root }, cwd)
  }
  return {
    apiPort: given.apiPort ?? NEXUS_DEFAULTS.apiPort,
    host: given.host ?? NEXUS_DEFAULTS.host,
    mcpPort: given.mcpPort,
    root: discovery?.root ?? root,
    discovery,
    workers: given.workers ?? NEXUS_DEFAULTS.workers(),
    runTimeoutMs: given.runTimeoutMs ?? NEXUS_DEFAULTS.runTimeoutMs,
    queueTimeoutMs: given.queueTimeoutMs ?? NEXUS_DEFAULTS.queueTimeoutMs,
    maxMemoryMb: given.maxMemoryMb ?? NEXUS_DEFAULTS.maxMemoryMb,
    maxRequestBodyBytes: given.maxRequestBodyBytes ?? NEXUS_DEFAULTS.maxRequestBodyBytes,
    dashboard: given.dashboard ?? NEXUS_DEFAULTS.dashboard,
    shutdownTimeoutMs: given.shutdownTimeoutMs ?? NEXUS_DEFAULTS.shutdownTimeoutMs,
    logger: given.logger ?? consoleLogger,
    dev: given.dev ?? false,
    durability: resolveDurabilityOptions(given.durability, resolve(cwd, discovery?.root ?? root), env),
    ...resolveProductionOptions(given, env, process.stdout.isTTY === true),
  }
}

/** Declares a config file's options (`nexflow.config.ts`: `export default defineConfig({ ... })`), typed. */
export function defineConfig(config: NexusConfig): NexusConfig {
  return config
}
