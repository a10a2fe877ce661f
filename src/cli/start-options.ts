import { resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { closestName } from '../closest-name.js'
import { NexflowError } from '../errors.js'

/** `nexflow start`'s flags. Only the flags given are set: defaults live in the server's options. */
export interface StartFlags {
  help: boolean
  /** Absolute. */
  root: string
  port?: number
  host?: string
  timeoutMs?: number
  isolation?: 'thread' | 'process'
  concurrency?: number
  cache?: boolean
  discovery?: boolean
  workers?: number
  runTimeoutMs?: number
  maxMemoryMb?: number
  maxBodyBytes?: number
  /** `--rate-limit 100/1m`. */
  rateLimit?: { max: number; windowMs: number }
  /** `--cors-origin`, repeatable. */
  corsOrigins?: string[]
  /** `--no-auth`: false; `--auth` is not a flag of its own (keys come from NEXFLOW_API_KEYS or the config file). */
  auth?: false
  secureHeaders?: boolean
  dashboard?: boolean
  metrics?: boolean
  requestLog?: boolean
  logFormat?: 'json' | 'text'
}

export const START_HELP = `Usage: nexflow start [root] [options]

Starts the server for the project at root (default: the current folder). It listens at once,
then discovers the workflow files under root in isolated workers and serves each workflow as
soon as its file is known; runs execute in worker threads. Options may also live in
nexflow.config.{ts,mts,js,mjs,json} at the root (export default defineConfig({ ... })); flags
win over the config file, the config file over the defaults.

Server:
  --port <n>               Port of the HTTP API (default 8000; 0 picks a free one).
  --host <address>         Interface to listen on (default 127.0.0.1; 0.0.0.0 for all).
  --workers <n>            Execution worker threads (default: the number of CPUs).
  --run-timeout-ms <ms>    A run over this is stopped and answered 504 (default 30000).
  --max-memory-mb <mb>     Heap limit of each execution worker (default 1024).
  --max-body-bytes <n>     Larger request bodies are answered 413 (default 10485760).

Production (API keys come from NEXFLOW_API_KEYS=<key>,<key> or the config file's auth option;
NODE_ENV=production refuses to start without them):
  --rate-limit <n>/<window>  At most n requests per window for each client (API key, else IP),
                           e.g. 100/1m, 10/30s, 5000/1h; 429 with Retry-After (default: off).
                           With PostgreSQL durability, every instance counts against it together.
  --cors-origin <origin>   Allow browsers from this origin (repeatable; "*" for any).
  --no-auth                No authentication even with NODE_ENV=production (a proxy in front does it).
  --no-secure-headers      Do not send the secure headers (HSTS, nosniff, CSP, ...).
  --no-metrics             No GET /metrics.
  --no-dashboard           No dashboard page at / (the JSON API is unchanged).
  --no-request-log         No log line per request (runs still log).
  --log-format <f>         json (default when stdout is not a terminal) or text.

Discovery:
  --timeout-ms <ms>        Deadline per file import; the worker is killed after it (default 10000).
  --isolation <mode>       thread (default) or process (child processes: also contain native hangs).
  --concurrency <n>        Files imported at once (default: the number of CPUs).
  --no-cache               Re-import every file instead of using the manifest cache.
  --no-discovery           Serve only what the app registers itself (nothing, from the CLI).
  -h, --help               Show this help.

Routes: POST /workflows/<name>/execute ("mode": "async" answers 202 with an execution_id; an
Idempotency-Key header replays), GET|DELETE /workflows/<name>/status/<id>, GET /workflows, GET /workflows/<name>/workflow/info,
GET /health, GET /ready (503 until discovery has finished), GET /discovery, GET /openapi.json,
GET /metrics (Prometheus), GET /events, GET /runs, /mcp, and the dashboard at /. With auth on,
all but /health, /ready and the dashboard page need a key (the page asks for it).
SIGINT or SIGTERM shuts down gracefully (in-flight runs finish); a second signal forces it.
`

const MAX_MS = 2_147_483_647

/*
 * The flags are checked by hand, not with zod: `nexflow start` checks them before it listens, and
 * loading zod (a hundred modules) would delay the port's first answer by about as long as node
 * takes to boot. The options they become are validated again, with zod, when the server is made.
 * Each check returns the value, or the message that names the flag and gives an example.
 */
type Checked<T> = { value: T } | { problem: string }

function wholeNumber(flag: string, min: number, max: number, example: number): (input: string) => Checked<number> {
  return (input) => {
    const n = Number(input)
    if (/^\d+$/.test(input) && n >= min && n <= max) return { value: n }
    return { problem: `${flag}: expected a whole number from ${min} to ${max}, got ${JSON.stringify(input)}; for example ${flag} ${example}` }
  }
}

function oneOf<const T extends string>(flag: string, choices: readonly T[]): (input: string) => Checked<T> {
  const expected = choices.map((choice) => JSON.stringify(choice)).join(' or ')
  return (input) => ((choices as readonly string[]).includes(input) ? { value: input as T } : { problem: `${flag}: expected ${expected}, got ${JSON.stringify(input)}` })
}

const PARSE_OPTIONS = {
  help: { type: 'boolean', short: 'h' },
  port: { type: 'string' },
  host: { type: 'string' },
  'timeout-ms': { type: 'string' },
  isolation: { type: 'string' },
  concurrency: { type: 'string' },
  cache: { type: 'boolean' },
  discovery: { type: 'boolean' },
  workers: { type: 'string' },
  'run-timeout-ms': { type: 'string' },
  'max-memory-mb': { type: 'string' },
  'max-body-bytes': { type: 'string' },
  'rate-limit': { type: 'string' },
  'cors-origin': { type: 'string', multiple: true },
  auth: { type: 'boolean' },
  'secure-headers': { type: 'boolean' },
  dashboard: { type: 'boolean' },
  metrics: { type: 'boolean' },
  'request-log': { type: 'boolean' },
  'log-format': { type: 'string' },
} as const

const WINDOW_UNITS_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 } as const

/** `100/1m` -> at most 100 requests per 60 000 ms; `10/30s`, `5000/1h`, `5/m` (one minute). */
export function parseRateLimit(text: string): { max: number; windowMs: number } | undefined {
  const match = /^(\d{1,10})\/(\d{1,8})?(ms|s|m|h)$/.exec(text)
  if (match === null) return undefined
  const max = Number(match[1])
  const windowMs = Number(match[2] ?? 1) * WINDOW_UNITS_MS[match[3] as keyof typeof WINDOW_UNITS_MS]
  if (max < 1 || windowMs < 1000 || windowMs > 86_400_000) return undefined
  return { max, windowMs }
}

/** Flags that only turn something off: `--no-<name>` is the only form. */
const NEGATIONS = new Set(['cache', 'discovery', 'auth', 'secure-headers', 'dashboard', 'metrics', 'request-log'])

/** The boolean flags and the field each sets (`--no-auth` aside: it can only be false). */
const SWITCHES = [
  ['cache', 'cache'],
  ['discovery', 'discovery'],
  ['secure-headers', 'secureHeaders'],
  ['dashboard', 'dashboard'],
  ['metrics', 'metrics'],
  ['request-log', 'requestLog'],
] as const satisfies readonly (readonly [string, keyof StartFlags])[]

const CORS_ORIGIN = /^(\*|https?:\/\/[^\s/,]+)$/

/** The checks of the flags that take a value, in the order their problems are listed. */
const VALUE_CHECKS = {
  port: wholeNumber('--port', 0, 65_535, 8000),
  host: (input: string): Checked<string> => (input.length >= 1 ? { value: input } : { problem: '--host: expected an address, e.g. --host 0.0.0.0' }),
  'timeout-ms': wholeNumber('--timeout-ms', 1, MAX_MS, 5000),
  isolation: oneOf('--isolation', ['thread', 'process']),
  concurrency: wholeNumber('--concurrency', 1, 256, 4),
  workers: wholeNumber('--workers', 1, 256, 4),
  'run-timeout-ms': wholeNumber('--run-timeout-ms', 1, MAX_MS, 30000),
  'max-memory-mb': wholeNumber('--max-memory-mb', 32, 1_048_576, 1024),
  'max-body-bytes': wholeNumber('--max-body-bytes', 1024, 1024 * 1024 * 1024, 10485760),
  'rate-limit': (input: string): Checked<{ max: number; windowMs: number }> => {
    const limit = parseRateLimit(input)
    return limit !== undefined ? { value: limit } : { problem: `--rate-limit: expected <requests>/<window> with a window from 1s to 24h, got ${JSON.stringify(input)}; for example --rate-limit 100/1m (or 10/30s, 5000/1h)` }
  },
  'cors-origin': (inputs: string[]): Checked<string[]> => {
    const bad = inputs.filter((input) => !CORS_ORIGIN.test(input))
    return bad.length === 0 ? { value: inputs } : { problem: bad.map((input) => `--cors-origin: expected "*" or an origin such as https://app.example.com (no path), got ${JSON.stringify(input)}`).join('\n') }
  },
  'log-format': oneOf('--log-format', ['json', 'text']),
} as const

type ValueFlag = keyof typeof VALUE_CHECKS
type CheckedValues = { [K in ValueFlag]?: (typeof VALUE_CHECKS)[K] extends (input: never) => Checked<infer T> ? T : never }

/** The flags `nexflow start` knows, as typed (`--no-cache` for the negations), for messages. */
const KNOWN_FLAGS = Object.keys(PARSE_OPTIONS).flatMap((name) => (NEGATIONS.has(name) ? [`--no-${name}`] : [`--${name}`]))

/** A usage error: printed, exit 2. */
export class StartUsageError extends NexflowError {
  constructor(message: string) {
    super('CONFIG_INVALID', message)
    this.name = 'StartUsageError'
  }
}

/** Parses `nexflow start`'s arguments. Throws a {@link StartUsageError} naming each bad flag and the fix. */
export function parseStartArgs(args: readonly string[], cwd: string): StartFlags {
  let parsed
  try {
    parsed = parseArgs({ args: [...args], options: PARSE_OPTIONS, allowPositionals: true, allowNegative: true, strict: true })
  } catch (error) {
    const unknown = /Unknown option '([^']+)'/.exec((error as Error).message)?.[1]
    if (unknown !== undefined) {
      const closest = closestName(unknown, KNOWN_FLAGS)
      throw new StartUsageError(`unknown flag ${unknown}${closest === undefined ? '' : ` (did you mean ${closest}?)`}; the flags are ${KNOWN_FLAGS.join(', ')}`)
    }
    throw new StartUsageError((error as Error).message)
  }
  const given = parsed.values as Record<string, string | string[] | boolean | undefined>
  const problems: string[] = []
  const flags: CheckedValues = {}
  for (const [name, check] of Object.entries(VALUE_CHECKS) as [ValueFlag, (input: never) => Checked<unknown>][]) {
    const input = given[name]
    if (input === undefined) continue
    const checked = check(input as never)
    if ('problem' in checked) problems.push(checked.problem)
    else (flags as Record<string, unknown>)[name] = checked.value
  }
  if (given.auth === true) problems.push('--auth is not a flag: API keys come from NEXFLOW_API_KEYS or the config file (auth: { apiKeys }); --no-auth turns auth off')
  if (parsed.positionals.length > 1) problems.push(`unexpected extra argument ${JSON.stringify(parsed.positionals[1])}: nexflow start takes one root folder`)
  if (problems.length > 0) throw new StartUsageError(problems.join('\n'))
  const out: StartFlags = { help: given.help === true, root: resolve(cwd, parsed.positionals[0] ?? '.') }
  if (flags.port !== undefined) out.port = flags.port
  if (flags.host !== undefined) out.host = flags.host
  if (flags['timeout-ms'] !== undefined) out.timeoutMs = flags['timeout-ms']
  if (flags.isolation !== undefined) out.isolation = flags.isolation
  if (flags.concurrency !== undefined) out.concurrency = flags.concurrency
  if (flags.workers !== undefined) out.workers = flags.workers
  if (flags['run-timeout-ms'] !== undefined) out.runTimeoutMs = flags['run-timeout-ms']
  if (flags['max-memory-mb'] !== undefined) out.maxMemoryMb = flags['max-memory-mb']
  if (flags['max-body-bytes'] !== undefined) out.maxBodyBytes = flags['max-body-bytes']
  if (flags['rate-limit'] !== undefined) out.rateLimit = flags['rate-limit']
  if (flags['cors-origin'] !== undefined) out.corsOrigins = flags['cors-origin']
  if (given.auth === false) out.auth = false
  if (flags['log-format'] !== undefined) out.logFormat = flags['log-format']
  for (const [name, key] of SWITCHES) {
    const value = given[name]
    if (typeof value === 'boolean') out[key] = value
  }
  return out
}
