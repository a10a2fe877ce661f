import { resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { z } from 'zod'
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

function wholeNumber(flag: string, min: number, max: number, example: number) {
  const message = (input: unknown) => `${flag}: expected a whole number from ${min} to ${max}, got ${JSON.stringify(String(input))}; for example ${flag} ${example}`
  return z
    .string()
    .regex(/^\d+$/, { error: (issue) => message(issue.input) })
    .transform(Number)
    .refine((n) => n >= min && n <= max, { error: (issue) => message(issue.input) })
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

const flagsSchema = z.object({
  help: z.boolean().optional(),
  port: wholeNumber('--port', 0, 65_535, 8000).optional(),
  host: z.string().min(1, { error: '--host: expected an address, e.g. --host 0.0.0.0' }).optional(),
  'timeout-ms': wholeNumber('--timeout-ms', 1, MAX_MS, 5000).optional(),
  isolation: z.enum(['thread', 'process'], { error: (issue) => `--isolation: expected "thread" or "process", got ${JSON.stringify(issue.input)}` }).optional(),
  concurrency: wholeNumber('--concurrency', 1, 256, 4).optional(),
  cache: z.boolean().optional(),
  discovery: z.boolean().optional(),
  workers: wholeNumber('--workers', 1, 256, 4).optional(),
  'run-timeout-ms': wholeNumber('--run-timeout-ms', 1, MAX_MS, 30000).optional(),
  'max-memory-mb': wholeNumber('--max-memory-mb', 32, 1_048_576, 1024).optional(),
  'max-body-bytes': wholeNumber('--max-body-bytes', 1024, 1024 * 1024 * 1024, 10485760).optional(),
  'rate-limit': z
    .string()
    .transform((text, context) => {
      const limit = parseRateLimit(text)
      if (limit === undefined) {
        context.addIssue({ code: 'custom', message: `--rate-limit: expected <requests>/<window> with a window from 1s to 24h, got ${JSON.stringify(text)}; for example --rate-limit 100/1m (or 10/30s, 5000/1h)` })
        return z.NEVER
      }
      return limit
    })
    .optional(),
  'cors-origin': z.array(z.string().regex(/^(\*|https?:\/\/[^\s/,]+)$/, { error: (issue) => `--cors-origin: expected "*" or an origin such as https://app.example.com (no path), got ${JSON.stringify(issue.input)}` })).optional(),
  auth: z.literal(false, { error: '--auth is not a flag: API keys come from NEXFLOW_API_KEYS or the config file (auth: { apiKeys }); --no-auth turns auth off' }).optional(),
  'secure-headers': z.boolean().optional(),
  dashboard: z.boolean().optional(),
  metrics: z.boolean().optional(),
  'request-log': z.boolean().optional(),
  'log-format': z.enum(['json', 'text'], { error: (issue) => `--log-format: expected "json" or "text", got ${JSON.stringify(issue.input)}` }).optional(),
  positionals: z.array(z.string()).max(1, { error: (issue) => `unexpected extra argument ${JSON.stringify((issue.input as string[])[1])}: nexflow start takes one root folder` }),
})

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
  const result = flagsSchema.safeParse({ ...parsed.values, positionals: parsed.positionals })
  if (!result.success) throw new StartUsageError(result.error.issues.map((issue) => issue.message).join('\n'))
  const flags = result.data
  const out: StartFlags = { help: flags.help === true, root: resolve(cwd, flags.positionals[0] ?? '.') }
  if (flags.port !== undefined) out.port = flags.port
  if (flags.host !== undefined) out.host = flags.host
  if (flags['timeout-ms'] !== undefined) out.timeoutMs = flags['timeout-ms']
  if (flags.isolation !== undefined) out.isolation = flags.isolation
  if (flags.concurrency !== undefined) out.concurrency = flags.concurrency
  if (flags.cache !== undefined) out.cache = flags.cache
  if (flags.discovery !== undefined) out.discovery = flags.discovery
  if (flags.workers !== undefined) out.workers = flags.workers
  if (flags['run-timeout-ms'] !== undefined) out.runTimeoutMs = flags['run-timeout-ms']
  if (flags['max-memory-mb'] !== undefined) out.maxMemoryMb = flags['max-memory-mb']
  if (flags['max-body-bytes'] !== undefined) out.maxBodyBytes = flags['max-body-bytes']
  if (flags['rate-limit'] !== undefined) out.rateLimit = flags['rate-limit']
  if (flags['cors-origin'] !== undefined) out.corsOrigins = flags['cors-origin']
  if (flags.auth === false) out.auth = false
  if (flags['secure-headers'] !== undefined) out.secureHeaders = flags['secure-headers']
  if (flags.dashboard !== undefined) out.dashboard = flags.dashboard
  if (flags.metrics !== undefined) out.metrics = flags.metrics
  if (flags['request-log'] !== undefined) out.requestLog = flags['request-log']
  if (flags['log-format'] !== undefined) out.logFormat = flags['log-format']
  return out
}
