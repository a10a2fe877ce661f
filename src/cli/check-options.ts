import { accessSync, constants, statSync } from 'node:fs'
import { dirname, isAbsolute, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { z } from 'zod'
import { closestName } from '../closest-name.js'
import { NexflowError } from '../errors.js'

/**
 * Every default `nexflow check` applies itself. Discovery's own settings (deadline, isolation,
 * concurrency, patterns, ignores, cache folder) are left unset unless a flag is given, so its
 * defaults live in one place: discovery's options schema.
 */
export const CHECK_DEFAULTS = {
  root: '.',
  github: false,
  cache: true,
  allowEmpty: false,
} as const

export const ISOLATIONS = ['thread', 'process'] as const

/** `nexflow check`'s flags, validated and resolved once. Paths are absolute. */
export interface CheckOptions {
  help: boolean
  root: string
  /** Where `--json` goes: `'-'` for stdout, else an absolute file path. */
  json: string | undefined
  junit: string | undefined
  github: boolean
  timeoutMs: number | undefined
  budgetMs: number | undefined
  fileBudgetMs: number | undefined
  isolation: (typeof ISOLATIONS)[number] | undefined
  concurrency: number | undefined
  /** Heap limit of each discovery worker, in MB; a file over it is `oom`. */
  maxMemoryMb: number | undefined
  cache: boolean
  cacheDir: string | undefined
  patterns: string[] | undefined
  ignore: string[] | undefined
  /** A root without candidate files passes (by default it fails: a wrong root or pattern would pass silently). */
  allowEmpty: boolean
}

// Node's timers cap at 2^31 - 1 ms; a larger deadline would fire at once.
const MAX_MS = 2_147_483_647
const MAX_CONCURRENCY = 256
// Discovery's own bounds for `maxMemoryMb`.
const MIN_MEMORY_MB = 32
const MAX_MEMORY_MB = 1_048_576

const shown = (input: unknown) => JSON.stringify(input)

function wholeNumber(flag: string, example: number, max: number, unit: string, min = 1) {
  const message = (input: unknown) => `${flag}: expected a whole number of ${unit} from ${min} to ${max}, got ${shown(String(input))}; for example ${flag} ${example}`
  return z
    .string()
    .regex(/^\d+$/, { error: (issue) => message(issue.input) })
    .transform(Number)
    .refine((n) => n >= min && n <= max, { error: (issue) => message(issue.input) })
}

function nonEmpty(flag: string, example: string) {
  return z.string().min(1, { error: `${flag}: expected a value, got an empty string; for example ${flag} ${example}` })
}

const flagsSchema = z.object({
  help: z.boolean().default(false),
  json: nonEmpty('--json', 'report.json').optional(),
  junit: nonEmpty('--junit', 'junit.xml')
    .refine((path) => path !== '-', { error: '--junit: expected a file to write, got "-" (stdout carries the table; for a machine-readable stdout use --json); for example --junit junit.xml' })
    .optional(),
  github: z.boolean().default(CHECK_DEFAULTS.github),
  'timeout-ms': wholeNumber('--timeout-ms', 5000, MAX_MS, 'milliseconds').optional(),
  'budget-ms': wholeNumber('--budget-ms', 30000, MAX_MS, 'milliseconds').optional(),
  'file-budget-ms': wholeNumber('--file-budget-ms', 1000, MAX_MS, 'milliseconds').optional(),
  isolation: z.enum(ISOLATIONS, { error: (issue) => `--isolation: expected "thread" or "process", got ${shown(issue.input)}; for example --isolation process` }).optional(),
  concurrency: wholeNumber('--concurrency', 4, MAX_CONCURRENCY, 'workers').optional(),
  'max-memory-mb': wholeNumber('--max-memory-mb', 2048, MAX_MEMORY_MB, 'megabytes', MIN_MEMORY_MB).optional(),
  cache: z.boolean().default(CHECK_DEFAULTS.cache),
  'allow-empty': z.boolean().default(CHECK_DEFAULTS.allowEmpty),
  'cache-dir': nonEmpty('--cache-dir', '.nexflow').optional(),
  pattern: z
    .array(
      nonEmpty('--pattern', "'jobs/**/*.ts'").refine((p) => !isAbsolute(p) && !p.split(/[\\/]/).includes('..'), {
        error: (issue) => `--pattern: ${shown(issue.input)} reaches outside the root; patterns are relative to the root, e.g. --pattern 'jobs/**/*.ts' (to check another folder, pass it as the root)`,
      }),
    )
    .optional(),
  ignore: z.array(nonEmpty('--ignore', "'**/legacy/**'")).optional(),
  positionals: z.array(z.string()).max(1, {
    error: (issue) => `unexpected extra argument ${shown((issue.input as string[])[1])}: nexflow check takes one root folder (put globs after --pattern)`,
  }),
})

/** Flags parsed by node's parseArgs; `--json` is normalized first because its value is optional. */
const PARSE_OPTIONS = {
  help: { type: 'boolean', short: 'h' },
  json: { type: 'string' },
  junit: { type: 'string' },
  github: { type: 'boolean' },
  'timeout-ms': { type: 'string' },
  'budget-ms': { type: 'string' },
  'file-budget-ms': { type: 'string' },
  isolation: { type: 'string' },
  concurrency: { type: 'string' },
  'max-memory-mb': { type: 'string' },
  cache: { type: 'boolean' },
  'allow-empty': { type: 'boolean' },
  'cache-dir': { type: 'string' },
  pattern: { type: 'string', multiple: true },
  ignore: { type: 'string', multiple: true },
} as const

/** The flags `nexflow check` knows, as typed (`--no-cache` for the negation), for messages. */
const KNOWN_FLAGS = Object.keys(PARSE_OPTIONS).map((name) => (name === 'cache' ? '--no-cache' : `--${name}`))

/** A usage or config error: the CLI prints it and exits 2. */
export class CheckUsageError extends NexflowError {
  constructor(message: string) {
    super('CONFIG_INVALID', message)
    this.name = 'CheckUsageError'
  }
}

/**
 * Parses and validates `nexflow check`'s arguments (everything after `check`). Throws a
 * {@link CheckUsageError} naming each bad flag and how to fix it.
 */
export function parseCheckArgs(args: readonly string[], cwd: string = process.cwd()): CheckOptions {
  const normalized = normalizeJson(args)
  let parsed
  try {
    parsed = parseArgs({ args: normalized, options: PARSE_OPTIONS, allowPositionals: true, allowNegative: true, strict: true })
  } catch (error) {
    // Node's wording ("Unknown option '--x'. To specify a positional argument starting with a
    // '-', ...") names no fix; the closest known flag usually is the fix.
    const unknown = /Unknown option '([^']+)'/.exec((error as Error).message)?.[1]
    if (unknown !== undefined) {
      const closest = closestName(unknown, KNOWN_FLAGS)
      throw new CheckUsageError(`unknown flag ${unknown}${closest === undefined ? '' : ` (did you mean ${closest}?)`}; the flags are ${KNOWN_FLAGS.join(', ')}`)
    }
    throw new CheckUsageError((error as Error).message)
  }
  const repeated = repeatedFlags(normalized)
  if (repeated.length > 0) throw new CheckUsageError(repeated.map((flag) => `--${flag}: given more than once; give it once (only --pattern and --ignore repeat)`).join('\n'))
  const result = flagsSchema.safeParse({ ...parsed.values, positionals: parsed.positionals })
  if (!result.success) throw new CheckUsageError(result.error.issues.map((issue) => issue.message).join('\n'))
  const flags = result.data
  const root = resolve(cwd, flags.positionals[0] ?? CHECK_DEFAULTS.root)
  const options: CheckOptions = {
    help: flags.help,
    root,
    json: flags.json === undefined || flags.json === '-' ? flags.json : resolve(cwd, flags.json),
    junit: flags.junit === undefined ? undefined : resolve(cwd, flags.junit),
    github: flags.github,
    timeoutMs: flags['timeout-ms'],
    budgetMs: flags['budget-ms'],
    fileBudgetMs: flags['file-budget-ms'],
    isolation: flags.isolation,
    concurrency: flags.concurrency,
    maxMemoryMb: flags['max-memory-mb'],
    cache: flags.cache,
    cacheDir: flags['cache-dir'] === undefined ? undefined : resolve(cwd, flags['cache-dir']),
    patterns: flags.pattern,
    ignore: flags.ignore,
    allowEmpty: flags['allow-empty'],
  }
  if (!options.help) checkPaths(options, flags.json)
  return options
}

/** Single-value flags given more than once (parseArgs keeps the last and drops the others silently). */
function repeatedFlags(args: readonly string[]): string[] {
  const seen = new Map<string, number>()
  for (const arg of args) {
    if (arg === '--') break
    if (!arg.startsWith('--')) continue
    const name = arg.slice(2).split('=')[0] as string
    const option = (PARSE_OPTIONS as Record<string, { type: string; multiple?: boolean }>)[name]
    if (option === undefined || option.type !== 'string' || option.multiple === true) continue
    seen.set(name, (seen.get(name) ?? 0) + 1)
  }
  return [...seen].filter(([, count]) => count > 1).map(([name]) => name)
}

function checkPaths(options: CheckOptions, jsonArg: string | undefined): void {
  const problems: string[] = []
  const root = statOrUndefined(options.root)
  if (root === undefined) problems.push(`root ${shown(options.root)} does not exist; pass the folder of the app to check, e.g. nexflow check ./my-app`)
  else if (!root.isDirectory()) problems.push(`root ${shown(options.root)} is not a folder; pass the folder of the app to check, e.g. nexflow check ./my-app`)
  else if (!accessible(options.root, constants.R_OK | constants.X_OK)) problems.push(`root ${shown(options.root)} cannot be read by this user; check its permissions, or run as a user who can read it`)
  if (options.json !== undefined && options.json !== '-' && statOrUndefined(options.json)?.isDirectory() === true) {
    problems.push(`--json: ${shown(jsonArg)} is a folder. To print JSON while checking it, put the root first (nexflow check ${jsonArg} --json); to write a file, name one (--json report.json)`)
  } else if (options.json !== undefined && options.json !== '-') {
    const why = unwritable(options.json)
    if (why !== undefined) problems.push(`--json: cannot write ${shown(options.json)}: ${why}; name a file in a writable folder`)
  }
  if (options.junit !== undefined && statOrUndefined(options.junit)?.isDirectory() === true) {
    problems.push(`--junit: ${shown(options.junit)} is a folder; name the file to write, e.g. --junit junit.xml`)
  } else if (options.junit !== undefined) {
    const why = unwritable(options.junit)
    if (why !== undefined) problems.push(`--junit: cannot write ${shown(options.junit)}: ${why}; name a file in a writable folder`)
  }
  if (options.json === '-' && options.github) {
    problems.push('--json and --github both want stdout; write the JSON to a file instead, e.g. --json report.json --github')
  }
  if (problems.length > 0) throw new CheckUsageError(problems.join('\n'))
}

function accessible(path: string, mode: number): boolean {
  try {
    accessSync(path, mode)
    return true
  } catch {
    return false
  }
}

/**
 * Why a report file could not be written, found before discovery runs rather than after it: the
 * nearest existing folder above it (missing folders are created) must be a writable folder.
 */
function unwritable(file: string): string | undefined {
  const existing = statOrUndefined(file)
  if (existing !== undefined) return accessible(file, constants.W_OK) ? undefined : 'it is not writable'
  for (let dir = dirname(file); ; dir = dirname(dir)) {
    const stat = statOrUndefined(dir)
    if (stat !== undefined) {
      if (!stat.isDirectory()) return `${shown(dir)} is not a folder`
      return accessible(dir, constants.W_OK | constants.X_OK) ? undefined : `${shown(dir)} is not writable`
    }
    if (dirname(dir) === dir) return 'no folder above it exists'
  }
}

function statOrUndefined(path: string) {
  try {
    return statSync(path)
  } catch {
    return undefined
  }
}

/**
 * `--json` takes an optional file: bare `--json` (last, or before another flag) or `--json -`
 * means stdout. parseArgs has no optional values, so those forms become `--json=-`.
 */
function normalizeJson(args: readonly string[]): string[] {
  const out: string[] = []
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string
    if (arg === '--') {
      out.push(...args.slice(i))
      break
    }
    if (arg !== '--json') {
      out.push(arg)
      continue
    }
    const next = args[i + 1]
    if (next === undefined || (next.startsWith('-') && next !== '-')) {
      out.push('--json=-')
    } else {
      out.push(`--json=${next}`)
      i++
    }
  }
  return out
}
