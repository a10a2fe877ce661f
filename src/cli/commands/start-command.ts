import { existsSync, realpathSync, statSync } from 'node:fs'
import { NexflowError } from '../../errors.js'
import { findConfigFile } from '../../server/config-file-lookup.js'
import { NEXUS_DEFAULTS } from '../../server/nexus-defaults.js'
import type { Nexus } from '../../server/nexus.js'
import type { NexusOptions } from '../../server/options.js'
import { StartupListener } from '../../server/startup-listener.js'
import { batchedLines } from '../line-batch.js'
import { parseStartArgs, START_HELP, StartUsageError, type StartFlags } from '../start-options.js'
import type { CommandIo } from './io.js'
import type * as Shared from './start.js'

/*
 * `nexflow start` and `nexflow dev`. The port answers GET /health within a few milliseconds of
 * what a bare node:http server needs, because this module and what it imports statically are all
 * that load before listening (node:http, the flags, where the config file is); the server itself
 * (zod's option schemas, hono and the routes, discovery, prom-client: most of startup) loads once
 * the port is open, and takes it over (see server/startup-listener.ts).
 *
 * Nothing listens before the options are known to be valid: the flags are checked before
 * listening (without zod). A config file, a root that is not a folder, or an environment variable
 * the options read (below) can make them invalid: then they are resolved in full (zod) before
 * listening, as the server would resolve them, and a problem is exit code 2 with nothing listening.
 * Otherwise the options are the flags over the defaults, which cannot be invalid, and the port
 * opens first.
 */

/**
 * The environment the server's options read: `NODE_ENV=production` requires auth, keys come from
 * `NEXFLOW_API_KEYS` (production-options.ts), `NEXFLOW_DURABILITY_URL` names the durability
 * database (durability-options.ts). Any of them set means the options are resolved before listening.
 */
const OPTION_ENVIRONMENT = ['NEXFLOW_API_KEYS', 'NEXFLOW_DURABILITY_URL'] as const

export const DEV_HELP = `Usage: nexflow dev [root] [options]

nexflow start for development: the same server, options and config file, plus a watcher on the
root. A saved file is live almost at once, without a restart and without losing a request: changed
and new files (and every file importing a changed module) are imported again in fresh workers, a
new generation of execution workers takes the new requests, and runs in flight finish on the old
one. A file that breaks keeps its last good workflows serving (marked stale) until it is fixed.
Each reload prints one line; GET /events streams reload and file events; error answers carry the
failing node and its stack. Options: see nexflow start --help.
`

/** \`nexflow dev\`: \`nexflow start\` plus hot reload. */
export function runDev(args: readonly string[], io: CommandIo): Promise<number> {
  return runStart(args, io, { dev: true })
}

function isFolder(path: string): boolean {
  return statSync(path, { throwIfNoEntry: false })?.isDirectory() === true
}

/** Whether something besides the flags could make the options invalid, so that they must be resolved before listening. */
function resolveBeforeListening(flags: StartFlags, env: NodeJS.ProcessEnv): boolean {
  return findConfigFile(flags.root) !== undefined || !isFolder(flags.root) || env.NODE_ENV === 'production' || OPTION_ENVIRONMENT.some((name) => (env[name] ?? '').trim() !== '')
}

/** Before a signal handler of the running server exists, a signal stops the server once it has loaded. */
function signalsWhileLoading(): { signal: Promise<string>; stop(): void } {
  let stop = () => {}
  const signal = new Promise<string>((resolve) => {
    const onSignal = (name: string) => {
      stop()
      resolve(name)
    }
    process.once('SIGINT', onSignal)
    process.once('SIGTERM', onSignal)
    stop = () => {
      process.off('SIGINT', onSignal)
      process.off('SIGTERM', onSignal)
    }
  })
  return { signal, stop }
}

/**
 * `nexflow start`: the server in the foreground. Prints the URL as soon as the port answers, one
 * line per discovered file as it arrives, then a summary; runs until SIGINT or SIGTERM (graceful;
 * a second one forces).
 */
export async function runStart(args: readonly string[], io: CommandIo, mode: { dev: boolean } = { dev: false }): Promise<number> {
  const command = mode.dev ? 'dev' : 'start'
  let flags: StartFlags
  try {
    flags = parseStartArgs(args, io.cwd)
  } catch (error) {
    if (!(error instanceof StartUsageError)) throw error
    io.err.write(`${error.message
      .split('\n')
      .map((line) => `nexflow ${command}: ${line}`)
      .join('\n')}\nRun "nexflow ${command} --help" for usage.\n`)
    return 2
  }
  if (flags.help) {
    io.out.write(mode.dev ? DEV_HELP : START_HELP)
    return 0
  }
  if (!existsSync(flags.root)) {
    io.err.write(`nexflow start: root ${JSON.stringify(flags.root)} does not exist; pass the folder of the app, e.g. nexflow start ./my-app\n`)
    return 2
  }
  const invalid = (error: unknown): number => {
    if (!(error instanceof NexflowError && error.code === 'CONFIG_INVALID')) throw error
    io.err.write(`nexflow start: ${error.message}\n`)
    return 2
  }

  // The options when they had to be resolved before listening; the port, and the root as served.
  let options: NexusOptions | undefined
  let listener: StartupListener
  let root: string
  let discovery: boolean
  try {
    let port = flags.port ?? NEXUS_DEFAULTS.apiPort
    let host = flags.host ?? NEXUS_DEFAULTS.host
    if (resolveBeforeListening(flags, io.env)) {
      const [{ optionsFromProject }, { resolveNexusOptions }] = await Promise.all([import('./start.js'), import('../../server/options.js')])
      options = await optionsFromProject(flags, io)
      const resolved = resolveNexusOptions({ ...options, dev: mode.dev }, process.cwd(), io.env)
      port = resolved.apiPort
      host = resolved.host
      root = resolved.root
      discovery = resolved.discovery !== undefined
    } else {
      discovery = flags.discovery !== false
      // As the options resolve it: discovery's root is the real path.
      root = discovery ? realpathSync(flags.root) : flags.root
    }
    listener = await StartupListener.listen(port, host, { discovery })
  } catch (error) {
    return invalid(error)
  }
  // The handlers come before the line: whoever reads it may signal at once, and on a busy machine
  // this process can be descheduled between the two (a SIGTERM then killed it outright).
  const loading = signalsWhileLoading()
  io.out.write(`nexflow: listening on ${listener.url} (serving ${root}${mode.dev ? '; watching for changes' : ''})\n`)
  let app: Nexus
  let shared: typeof Shared
  try {
    const [{ Nexus }, start] = await Promise.all([import('../../server/nexus.js'), import('./start.js')])
    shared = start
    app = new Nexus({ ...(options ?? start.startOptions(flags, undefined, undefined)), dev: mode.dev, logger: { info: batchedLines(io.out), warn: (line) => io.err.write(`${line}\n`) } })
    await app.start({ listener })
  } catch (error) {
    loading.stop()
    await listener.close(error instanceof Error ? error.message : String(error))
    return invalid(error)
  }
  loading.stop()
  void shared.report(app, io.out, io.err)
  return shared.serveUntilStopped(app, io, loading.signal)
}
