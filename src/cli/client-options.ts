import { resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { z } from 'zod'
import { closestName } from '../closest-name.js'
import { NexflowError } from '../errors.js'
import { NEXUS_DEFAULTS } from '../server/options.js'

/**
 * The flags of the commands that call a server (`nexflow list`, `nexflow run`), validated and
 * resolved once. Paths are absolute; the server's URL is resolved from `--url`, `NEXFLOW_URL`
 * and the default, in that order.
 */

/** Where `nexflow start` listens unless told otherwise. */
export const DEFAULT_SERVER_URL = 'http://127.0.0.1:8000'

/** Every default `nexflow run --local` applies itself; discovery's own defaults stay in discovery. */
export const LOCAL_RUN_DEFAULTS = {
  root: '.',
  /** The server's own default. */
  runTimeoutMs: NEXUS_DEFAULTS.runTimeoutMs,
  cache: true,
} as const

/** A usage error: the command prints it and exits 2. */
export class ClientUsageError extends NexflowError {
  constructor(message: string) {
    super('CONFIG_INVALID', message)
    this.name = 'ClientUsageError'
  }
}

export interface ListOptions {
  help: boolean
  /** Base URL of the server, without a trailing slash. */
  url: string
  /** Sent as `Authorization: Bearer`: `--api-key`, else `NEXFLOW_API_KEY`. */
  apiKey: string | undefined
}

/** `nexflow run <workflow>` against a running server. */
export interface RemoteRunOptions {
  mode: 'remote'
  help: boolean
  workflow: string
  /** Base URL of the server, without a trailing slash. */
  url: string
  /** `--param key=value`, in the order given (not parsed yet: see run-inputs.ts). */
  params: string[]
  /** `--input`: an absolute file path, or `'-'` for stdin. */
  input: string | undefined
  /** Sent as `Authorization: Bearer`: `--api-key`, else `NEXFLOW_API_KEY`. */
  apiKey: string | undefined
  /** `--async`: the server answers 202 with an `execution_id` at once. */
  async?: boolean
  /** `--idempotency-key`: sent as `Idempotency-Key`, so a retried command does not run twice. */
  idempotencyKey?: string | undefined
}

/** `nexflow run --local <workflow>`: discovery and one execution worker in this process, no server. */
export interface LocalRunOptions {
  mode: 'local'
  help: boolean
  workflow: string
  /** Absolute. */
  root: string
  params: string[]
  input: string | undefined
  /** Discovery's per-file import deadline (`--timeout-ms`); undefined: discovery's default. */
  timeoutMs: number | undefined
  /** The run's deadline (`--run-timeout-ms`). */
  runTimeoutMs: number
  cache: boolean
}

export type RunOptions = RemoteRunOptions | LocalRunOptions

// Node's timers cap at 2^31 - 1 ms; a larger deadline would fire at once.
const MAX_MS = 2_147_483_647

const shown = (input: unknown) => JSON.stringify(input)

function wholeNumber(flag: string, example: number) {
  const message = (input: unknown) => `${flag}: expected a whole number of milliseconds from 1 to ${MAX_MS}, got ${shown(String(input))}; for example ${flag} ${example}`
  return z
    .string()
    .regex(/^\d+$/, { error: (issue) => message(issue.input) })
    .transform(Number)
    .refine((n) => n >= 1 && n <= MAX_MS, { error: (issue) => message(issue.input) })
}

const nonEmpty = (flag: string, example: string) => z.string().min(1, { error: `${flag}: expected a value, got an empty string; for example ${flag} ${example}` })

/** A key or token as a header value carries it: visible ASCII, no spaces. */
const apiKeyFlag = z.string().regex(/^[\x21-\x7e]{1,8192}$/, { error: '--api-key: expected the key as given to the server (visible characters, no spaces), e.g. --api-key "$MY_NEXFLOW_KEY"' })

/** `--api-key`, else `NEXFLOW_API_KEY` when set to something. */
export function resolveApiKey(flag: string | undefined, env: NodeJS.ProcessEnv): string | undefined {
  if (flag !== undefined) return flag
  const fromEnv = (env.NEXFLOW_API_KEY ?? '').trim()
  if (fromEnv === '') return undefined
  if (!apiKeyFlag.safeParse(fromEnv).success) throw new ClientUsageError('NEXFLOW_API_KEY: expected the key as given to the server (visible characters, no spaces)')
  return fromEnv
}

const LIST_PARSE_OPTIONS = {
  help: { type: 'boolean', short: 'h' },
  url: { type: 'string' },
  'api-key': { type: 'string' },
} as const

const RUN_PARSE_OPTIONS = {
  help: { type: 'boolean', short: 'h' },
  url: { type: 'string' },
  'api-key': { type: 'string' },
  param: { type: 'string', multiple: true },
  input: { type: 'string' },
  local: { type: 'boolean' },
  root: { type: 'string' },
  'timeout-ms': { type: 'string' },
  'run-timeout-ms': { type: 'string' },
  cache: { type: 'boolean' },
  async: { type: 'boolean' },
  'idempotency-key': { type: 'string' },
} as const

/** The flags only `--local` takes: without a server, they say how to discover and run. */
const LOCAL_ONLY = ['root', 'timeout-ms', 'run-timeout-ms', 'cache'] as const

const listFlagsSchema = z.object({
  help: z.boolean().default(false),
  url: nonEmpty('--url', DEFAULT_SERVER_URL).optional(),
  'api-key': apiKeyFlag.optional(),
  positionals: z.array(z.string()).max(0, {
    error: (issue) => `unexpected argument ${shown((issue.input as string[])[0])}: nexflow list takes no arguments (name the server with --url, or NEXFLOW_URL)`,
  }),
})

const runFlagsSchema = z.object({
  help: z.boolean().default(false),
  url: nonEmpty('--url', DEFAULT_SERVER_URL).optional(),
  'api-key': apiKeyFlag.optional(),
  param: z.array(z.string()).default([]),
  input: nonEmpty('--input', 'inputs.json').optional(),
  local: z.boolean().default(false),
  root: nonEmpty('--root', './my-app').optional(),
  'timeout-ms': wholeNumber('--timeout-ms', 5000).optional(),
  'run-timeout-ms': wholeNumber('--run-timeout-ms', 30000).optional(),
  cache: z.boolean().optional(),
  async: z.boolean().default(false),
  'idempotency-key': z
    .string()
    .regex(/^[\x20-\x7e]{1,255}$/, { error: '--idempotency-key: expected 1 to 255 printable ASCII characters, e.g. --idempotency-key "$(uuidgen)"' })
    .optional(),
  positionals: z.array(z.string()).max(1, {
    error: (issue) => `unexpected extra argument ${shown((issue.input as string[])[1])}: nexflow run takes one workflow name (inputs go in --param key=value)`,
  }),
})

/** The flags a command knows, as typed (`--no-cache` for the negation), for messages. */
function knownFlags(options: Record<string, { type: string }>): string[] {
  return Object.keys(options).map((name) => (name === 'cache' ? '--no-cache' : `--${name}`))
}

/** parseArgs, with its errors turned into usage errors; an unknown flag is named with the closest known one and the whole list. */
function parse(command: string, args: readonly string[], options: Record<string, { type: 'string' | 'boolean'; short?: string; multiple?: boolean }>) {
  try {
    return parseArgs({ args: [...args], options, allowPositionals: true, allowNegative: true, strict: true })
  } catch (error) {
    const flags = knownFlags(options)
    const unknown = /Unknown option '([^']+)'/.exec((error as Error).message)?.[1]
    if (unknown !== undefined) {
      const closest = closestName(unknown, flags)
      throw new ClientUsageError(`unknown flag ${unknown}${closest === undefined ? '' : ` (did you mean ${closest}?)`}; the flags of nexflow ${command} are ${flags.join(', ')}`)
    }
    throw new ClientUsageError((error as Error).message)
  }
}

/** Single-value flags given more than once: parseArgs would keep the last and drop the others silently. */
function rejectRepeated(args: readonly string[], options: Record<string, { type: string; multiple?: boolean }>): void {
  const seen = new Map<string, number>()
  for (const arg of args) {
    if (arg === '--') break
    if (!arg.startsWith('--')) continue
    const name = arg.slice(2).split('=')[0] as string
    const option = options[name]
    if (option === undefined || option.type !== 'string' || option.multiple === true) continue
    seen.set(name, (seen.get(name) ?? 0) + 1)
  }
  const repeated = [...seen].filter(([, count]) => count > 1).map(([name]) => `--${name}: given more than once; give it once (only --param repeats)`)
  if (repeated.length > 0) throw new ClientUsageError(repeated.join('\n'))
}

/**
 * The server's base URL: `--url`, else `NEXFLOW_URL` (when set to something), else
 * {@link DEFAULT_SERVER_URL}. Only http and https; a trailing slash is dropped, a path kept (a
 * server behind a proxy at `https://host/nexflow`).
 */
export function resolveServerUrl(flag: string | undefined, env: NodeJS.ProcessEnv): string {
  const fromEnv = env.NEXFLOW_URL ?? ''
  const [source, given] = flag !== undefined ? ['--url', flag] : fromEnv !== '' ? ['NEXFLOW_URL', fromEnv] : [undefined, DEFAULT_SERVER_URL]
  let url: URL | undefined
  try {
    url = new URL(given)
  } catch {
    url = undefined
  }
  if (url === undefined || (url.protocol !== 'http:' && url.protocol !== 'https:') || url.search !== '' || url.hash !== '') {
    throw new ClientUsageError(`${source ?? 'the server URL'}: expected the base URL of a nexflow server (http:// or https://, no query), got ${shown(given)}; for example ${source === 'NEXFLOW_URL' ? 'NEXFLOW_URL=' : '--url '}${DEFAULT_SERVER_URL}`)
  }
  return url.href.replace(/\/+$/, '')
}

/** Parses `nexflow list`'s arguments (everything after `list`). Throws a {@link ClientUsageError}. */
export function parseListArgs(args: readonly string[], env: NodeJS.ProcessEnv): ListOptions {
  const parsed = parse('list', args, LIST_PARSE_OPTIONS)
  rejectRepeated(args, LIST_PARSE_OPTIONS)
  const result = listFlagsSchema.safeParse({ ...parsed.values, positionals: parsed.positionals })
  if (!result.success) throw new ClientUsageError(result.error.issues.map((issue) => issue.message).join('\n'))
  const { help, url } = result.data
  return { help, url: help ? DEFAULT_SERVER_URL : resolveServerUrl(url, env), apiKey: help ? undefined : resolveApiKey(result.data['api-key'], env) }
}

/**
 * Parses `nexflow run`'s arguments (everything after `run`). Throws a {@link ClientUsageError}
 * naming each bad flag and the fix. `--param` and `--input` are only checked for presence here;
 * their values are read by run-inputs.ts.
 */
export function parseRunArgs(args: readonly string[], cwd: string, env: NodeJS.ProcessEnv): RunOptions {
  const parsed = parse('run', args, RUN_PARSE_OPTIONS)
  rejectRepeated(args, RUN_PARSE_OPTIONS)
  const result = runFlagsSchema.safeParse({ ...parsed.values, positionals: parsed.positionals })
  if (!result.success) throw new ClientUsageError(result.error.issues.map((issue) => issue.message).join('\n'))
  const flags = result.data
  const help = flags.help
  const workflow = flags.positionals[0]
  if (help) return { mode: 'remote', help, workflow: workflow ?? '', url: DEFAULT_SERVER_URL, params: [], input: undefined, apiKey: undefined }

  const problems: string[] = []
  if (workflow === undefined || workflow === '') problems.push('name the workflow to run, e.g. nexflow run greet --param name=Ada (nexflow list shows what a server serves)')
  const input = flags.input === undefined || flags.input === '-' ? flags.input : resolve(cwd, flags.input)
  if (flags.local) {
    if (flags.url !== undefined) problems.push('--url and --local exclude each other: --local runs the workflow in this process, without a server')
    if (flags['api-key'] !== undefined) problems.push('--api-key and --local exclude each other: --local asks no server')
    if (flags.async || flags['idempotency-key'] !== undefined) problems.push('--async and --idempotency-key go to a server: not with --local')
  } else {
    const localOnly = LOCAL_ONLY.filter((name) => flags[name] !== undefined).map((name) => (name === 'cache' ? '--no-cache' : `--${name}`))
    if (localOnly.length > 0) problems.push(`${localOnly.join(', ')}: only with --local (a server discovers and runs with its own settings; see nexflow start --help)`)
  }
  if (problems.length > 0) throw new ClientUsageError(problems.join('\n'))
  const name = workflow as string
  if (!flags.local) {
    const remote: RemoteRunOptions = { mode: 'remote', help, workflow: name, url: resolveServerUrl(flags.url, env), params: flags.param, input, apiKey: resolveApiKey(flags['api-key'], env) }
    if (flags.async) remote.async = true
    if (flags['idempotency-key'] !== undefined) remote.idempotencyKey = flags['idempotency-key']
    return remote
  }
  return {
    mode: 'local',
    help,
    workflow: name,
    root: resolve(cwd, flags.root ?? LOCAL_RUN_DEFAULTS.root),
    params: flags.param,
    input,
    timeoutMs: flags['timeout-ms'],
    runTimeoutMs: flags['run-timeout-ms'] ?? LOCAL_RUN_DEFAULTS.runTimeoutMs,
    cache: flags.cache ?? LOCAL_RUN_DEFAULTS.cache,
  }
}
