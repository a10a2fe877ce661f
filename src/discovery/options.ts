import { realpathSync, statSync } from 'node:fs'
import { isAbsolute, resolve } from 'node:path'
import { z } from 'zod'
import { NexflowError } from '../errors.js'
import { DISCOVERY_DEFAULTS } from './defaults.js'

export type Isolation = 'thread' | 'process'

/** How discovery runs. Every field is optional; defaults are in `DISCOVERY_DEFAULTS`. */
export interface DiscoveryOptions {
  /** Folder to discover; default the current directory. No file outside it is ever imported. */
  root?: string
  /** fast-glob patterns relative to the root; default {@link DEFAULT_PATTERNS}. Replaces the defaults. */
  patterns?: string[]
  /** fast-glob patterns to skip; default {@link DEFAULT_IGNORE}. Replaces the defaults (spread `DEFAULT_IGNORE` to extend them). */
  ignore?: string[]
  /** Per-file deadline in ms, counted from when the worker starts the import (queue time excluded). */
  timeoutMs?: number
  /** `thread` (worker threads, default) or `process` (child processes: contains native hangs and crashes too). */
  isolation?: Isolation
  /** Files imported at once (default `os.availableParallelism()`). Hanging files borrow extra workers. */
  concurrency?: number
  /** Heap limit per worker in MB (thread `resourceLimits`, process `--max-old-space-size`); over it a file is `oom`. */
  maxMemoryMb?: number
  /** After a timed-out thread ignores `terminate()` this long, it is abandoned and the file is `stuck`. */
  stuckGraceMs?: number
  /** Use the manifest cache (default true). `false` neither reads nor writes it. */
  cache?: boolean
  /** Where the cache lives; default `<root>/.nexflow`. Relative paths are relative to the root. */
  cacheDir?: string
  /** A manifest whose JSON is larger than this is `invalid` (default 16 MiB). */
  maxManifestBytes?: number
  /** Aborting stops discovery: workers are killed and `report` rejects with `DISCOVERY_ABORTED`. */
  signal?: AbortSignal
}

/** Options with every default applied and every path absolute and real. */
export interface ResolvedDiscoveryOptions {
  root: string
  patterns: readonly string[]
  ignore: readonly string[]
  timeoutMs: number
  isolation: Isolation
  concurrency: number
  maxMemoryMb: number
  stuckGraceMs: number
  cache: boolean
  cacheDir: string
  maxManifestBytes: number
  signal: AbortSignal | undefined
}

// Node's timers cap at 2^31 - 1 ms; a longer deadline would fire at once.
const MAX_MS = 2_147_483_647

const ms = (min: number) => z.number().int().min(min).max(MAX_MS)

const insideRoot = (pattern: string) => !isAbsolute(pattern) && !pattern.split(/[\\/]/).includes('..')

const optionsSchema = z.strictObject({
  root: z.string().min(1).optional(),
  patterns: z
    .array(z.string().min(1))
    .min(1)
    .refine((patterns) => patterns.every(insideRoot))
    .optional(),
  ignore: z.array(z.string().min(1)).optional(),
  timeoutMs: ms(1).optional(),
  isolation: z.enum(['thread', 'process']).optional(),
  concurrency: z.number().int().min(1).max(256).optional(),
  maxMemoryMb: z.number().int().min(32).max(1_048_576).optional(),
  stuckGraceMs: ms(0).optional(),
  cache: z.boolean().optional(),
  cacheDir: z.string().min(1).optional(),
  maxManifestBytes: z.number().int().min(1024).optional(),
  signal: z.instanceof(AbortSignal).optional(),
})

/** What each option expects and an example, for error messages that say how to fix them. */
const HINTS: Record<keyof DiscoveryOptions, string> = {
  root: 'a path to an existing folder, e.g. root: "./app"',
  patterns: 'a non-empty array of glob patterns relative to the root, without ".." or absolute paths, e.g. patterns: ["workflows/**/*.ts"]',
  ignore: 'an array of glob patterns, e.g. ignore: [...DEFAULT_IGNORE, "**/legacy/**"]',
  timeoutMs: `a whole number of milliseconds from 1 to ${MAX_MS}, e.g. timeoutMs: 10_000`,
  isolation: 'isolation: "thread" or isolation: "process"',
  concurrency: 'a whole number from 1 to 256, e.g. concurrency: 4',
  maxMemoryMb: 'a whole number of megabytes, at least 32, e.g. maxMemoryMb: 1024',
  stuckGraceMs: `a whole number of milliseconds from 0 to ${MAX_MS}, e.g. stuckGraceMs: 1000`,
  cache: 'cache: true or cache: false',
  cacheDir: 'a folder path, e.g. cacheDir: ".nexflow"',
  maxManifestBytes: 'a whole number of bytes, at least 1024, e.g. maxManifestBytes: 16_777_216',
  signal: 'an AbortSignal, e.g. signal: controller.signal',
}

function invalid(message: string, details: Record<string, unknown>): NexflowError {
  return new NexflowError('CONFIG_INVALID', message, { details })
}

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value)
  if (typeof value === 'number' || typeof value === 'boolean' || value === null || value === undefined) return String(value)
  if (Array.isArray(value)) return JSON.stringify(value).slice(0, 120)
  return typeof value
}

/**
 * Validates discovery options once and applies every default. Throws a `CONFIG_INVALID`
 * {@link NexflowError} naming the option and the fix.
 */
export function resolveDiscoveryOptions(options: DiscoveryOptions = {}, cwd: string = process.cwd()): ResolvedDiscoveryOptions {
  const parsed = optionsSchema.safeParse(options)
  if (!parsed.success) {
    const issue = parsed.error.issues[0] as z.core.$ZodIssue
    if (issue.code === 'unrecognized_keys') {
      const known = Object.keys(HINTS).join(', ')
      throw invalid(`Unknown discovery option ${issue.keys.map((k) => `\`${k}\``).join(', ')}: remove it; the options are ${known}`, { options: issue.keys })
    }
    const key = String(issue.path[0]) as keyof DiscoveryOptions
    const value = (options as Record<string, unknown>)[key]
    throw invalid(`Invalid discovery option \`${key}\`: got ${describe(value)}; expected ${HINTS[key] ?? 'a valid value'}`, { option: key, issue: issue.message })
  }
  const given = parsed.data

  const root = resolve(cwd, given.root ?? '.')
  let realRoot: string
  try {
    if (!statSync(root).isDirectory()) throw new Error('not a folder')
    // Real path, so "inside the root" can be checked against real paths of candidates.
    realRoot = realpathSync(root)
  } catch (error) {
    throw invalid(`Invalid discovery option \`root\`: ${JSON.stringify(root)} is not an existing folder (${(error as Error).message}); expected ${HINTS.root}`, { option: 'root', root })
  }

  return {
    root: realRoot,
    patterns: Object.freeze([...(given.patterns ?? DISCOVERY_DEFAULTS.patterns)]),
    ignore: Object.freeze([...(given.ignore ?? DISCOVERY_DEFAULTS.ignore)]),
    timeoutMs: given.timeoutMs ?? DISCOVERY_DEFAULTS.timeoutMs,
    isolation: given.isolation ?? DISCOVERY_DEFAULTS.isolation,
    concurrency: given.concurrency ?? DISCOVERY_DEFAULTS.concurrency(),
    maxMemoryMb: given.maxMemoryMb ?? DISCOVERY_DEFAULTS.maxMemoryMb,
    stuckGraceMs: given.stuckGraceMs ?? DISCOVERY_DEFAULTS.stuckGraceMs,
    cache: given.cache ?? DISCOVERY_DEFAULTS.cache,
    cacheDir: resolve(realRoot, given.cacheDir ?? DISCOVERY_DEFAULTS.cacheDir),
    maxManifestBytes: given.maxManifestBytes ?? DISCOVERY_DEFAULTS.maxManifestBytes,
    signal: given.signal,
  }
}
