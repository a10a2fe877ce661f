import { dirname, relative, resolve } from 'node:path'
import { DISCOVERY_DEFAULTS } from '../../discovery/defaults.js'
import type { FileResult } from '../../discovery/index.js'
import { projectTsconfig } from '../../discovery/project-files.js'
import { describeStatus } from '../../discovery/report.js'
import { NexflowError } from '../../errors.js'
import { findConfigFile, loadConfigFile } from '../../server/config-file.js'
import type { Nexus } from '../../server/nexus.js'
import { resolveNexusOptions, type NexusDiscoveryOptions, type NexusOptions } from '../../server/options.js'
import { hardExit } from '../hard-exit.js'
import { flush } from '../process-end.js'
import type { StartFlags } from '../start-options.js'
import type { CommandIo } from './io.js'

// What `nexflow start`, `dev` and `mcp` share beyond their flags: the options from the project's
// config file, the report of discovery, the shutdown. The commands themselves are in
// start-command.ts (start, dev: loaded before listening, so kept light) and mcp.ts.

/**
 * The server's options from the three sources, each winning over the one before: defaults (left
 * to the server), the config file's data, the flags. The config's own problems are reported
 * naming the file.
 */
export function startOptions(flags: StartFlags, config: Record<string, unknown> | undefined, configFile: string | undefined): NexusOptions {
  const fromFile: Record<string, unknown> = { ...config }
  if (typeof fromFile.root === 'string' && configFile !== undefined) fromFile.root = resolve(dirname(configFile), fromFile.root)
  if (config !== undefined) {
    try {
      // The file's own problems only: NODE_ENV and NEXFLOW_API_KEYS are checked when the server is made.
      resolveNexusOptions({ ...(fromFile as NexusOptions), root: (fromFile.root as string | undefined) ?? flags.root }, process.cwd(), {})
    } catch (error) {
      if (error instanceof NexflowError) throw new NexflowError('CONFIG_INVALID', `${configFile ?? 'the config file'}: ${error.message}`, { details: { ...error.details, file: configFile } })
      throw error
    }
  }
  // The root given on the command line is where the config file was found; a `root` in that
  // file (relative to it) moves discovery within the project.
  const options: NexusOptions = { ...(fromFile as NexusOptions), root: (fromFile.root as string | undefined) ?? flags.root }
  if (flags.port !== undefined) options.apiPort = flags.port
  if (flags.host !== undefined) options.host = flags.host
  if (flags.workers !== undefined) options.workers = flags.workers
  if (flags.runTimeoutMs !== undefined) options.runTimeoutMs = flags.runTimeoutMs
  if (flags.maxMemoryMb !== undefined) options.maxMemoryMb = flags.maxMemoryMb
  if (flags.maxBodyBytes !== undefined) options.maxRequestBodyBytes = flags.maxBodyBytes
  // The flag sets the limit; whether counts are shared still comes from the config.
  if (flags.rateLimit !== undefined) options.rateLimit = { ...(options.rateLimit || {}), ...flags.rateLimit }
  if (flags.corsOrigins !== undefined) options.cors = { ...(options.cors || {}), origin: flags.corsOrigins.includes('*') ? '*' : flags.corsOrigins }
  if (flags.auth === false) options.auth = false
  if (flags.secureHeaders !== undefined) options.secureHeaders = flags.secureHeaders
  if (flags.dashboard !== undefined) options.dashboard = flags.dashboard
  if (flags.metrics !== undefined) options.metrics = flags.metrics
  if (flags.requestLog !== undefined || flags.logFormat !== undefined) {
    options.log = { ...options.log, ...(flags.requestLog === undefined ? {} : { requests: flags.requestLog }), ...(flags.logFormat === undefined ? {} : { format: flags.logFormat }) }
  }
  const configured = options.autoDiscovery ?? true
  const discoveryFlags: NexusDiscoveryOptions = {}
  if (flags.timeoutMs !== undefined) discoveryFlags.timeoutMs = flags.timeoutMs
  if (flags.isolation !== undefined) discoveryFlags.isolation = flags.isolation
  if (flags.concurrency !== undefined) discoveryFlags.concurrency = flags.concurrency
  if (flags.cache !== undefined) discoveryFlags.cache = flags.cache
  const enabled = flags.discovery ?? configured !== false
  options.autoDiscovery = enabled ? { ...(typeof configured === 'object' ? configured : {}), ...discoveryFlags } : false
  return options
}

/**
 * The server's options for the project at `flags.root`: its config file (user code, so evaluated
 * in an isolated worker with a deadline like any discovered file; only its data comes back),
 * then the flags. Throws `CONFIG_INVALID` naming the file and the problem.
 */
export async function optionsFromProject(flags: StartFlags, io: CommandIo): Promise<NexusOptions> {
  const configFile = findConfigFile(flags.root)
  const config = configFile === undefined ? undefined : await loadConfigFile(configFile, { timeoutMs: flags.timeoutMs ?? DISCOVERY_DEFAULTS.timeoutMs, ...tsconfigOf(flags.root) })
  if (configFile !== undefined) io.err.write(`nexflow: using ${relative(io.cwd, configFile) || configFile}\n`)
  return startOptions(flags, config, configFile)
}

/** One line for a discovered file, as it arrives. */
export function fileLine(file: FileResult): string {
  const status = file.status === 'ok' || file.status === 'empty' ? file.status : file.status.toUpperCase()
  const what = file.workflows.length > 0 ? file.workflows.join(', ') : file.error !== undefined ? (file.error.message.split('\n')[0] ?? '') : describeStatus(file)
  return `  ${file.relativePath}  ${status}${file.cached ? ' (cached)' : ''}  ${Math.round(file.durationMs)} ms  ${what}\n`
}

/**
 * Resolves once the server has shut down: SIGINT or SIGTERM (or `stop`, when it fires) closes
 * it gracefully, a second signal forces the exit. The owner of the process then exits hard: a
 * worker thread stuck in native code cannot be joined, and a normal exit joins every thread.
 */
export async function serveUntilStopped(app: Nexus, io: CommandIo, stop?: Promise<string>): Promise<number> {
  const closed = new Promise<void>((resolveClosed) => {
    let signals = 0
    const shutDown = (why: string) => {
      signals++
      if (signals > 1) {
        io.err.write(`nexflow: ${why} again; stopping now\n`)
        if (io.ownsProcess) hardExit(why === 'SIGTERM' ? 143 : 130)
        return
      }
      io.err.write(`nexflow: ${why}; shutting down (in-flight runs finish; send the signal again to force)\n`)
      void app.close().then(() => resolveClosed())
    }
    process.on('SIGINT', shutDown)
    process.on('SIGTERM', shutDown)
    void stop?.then(shutDown)
  })
  await closed
  // Log lines batched for this turn of the event loop go out first.
  await new Promise((resolveTurn) => setImmediate(resolveTurn))
  io.err.write('nexflow: stopped\n')
  if (!io.ownsProcess) return 0
  await Promise.all([flush(io.out), flush(io.err)])
  return hardExit(0)
}

/** Prints each discovered file as it arrives, then the summary once the server is ready. */
export async function report(app: Nexus, out: NodeJS.WritableStream, err: NodeJS.WritableStream): Promise<void> {
  const io = { out, err }
  const run = app.discovery
  try {
    if (run !== undefined) for await (const file of run) io.out.write(fileLine(file))
    const discovered = await app.ready()
    if (discovered === undefined) {
      io.out.write('nexflow: discovery is off; serving registered workflows only; ready\n')
      return
    }
    const counts = new Map<string, number>()
    for (const file of discovered.files) counts.set(file.status, (counts.get(file.status) ?? 0) + 1)
    const tally = [...counts].map(([status, count]) => `${count} ${status}`).join(', ')
    for (const warning of discovered.warnings) io.err.write(`nexflow: warning: ${warning}\n`)
    io.out.write(`nexflow: discovered ${discovered.files.length} files (${tally || 'none'}) in ${discovered.durationMs} ms; serving ${discovered.workflows.length} workflows; ready\n`)
  } catch (error) {
    if (app.state === 'closing' || app.state === 'closed') return
    io.err.write(`nexflow: discovery failed: ${(error as Error).message}; the server keeps serving what it has (GET /ready answers 503)\n`)
  }
}

function tsconfigOf(root: string): { tsconfig?: string } {
  const tsconfig = projectTsconfig(root)
  return tsconfig === undefined ? {} : { tsconfig }
}
