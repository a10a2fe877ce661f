import { randomUUID } from 'node:crypto'
import { statSync } from 'node:fs'
import { closestName } from '../closest-name.js'
import { discover, projectTsconfig, type DiscoveryOptions, type DiscoveryReport, type FileResult } from '../discovery/index.js'
import { NexflowError, ValidationError } from '../errors.js'
import { isFailure, type DiscoveredWorkflow } from '../protocol/discovery.js'
import type { ExecutionPool } from '../server/execution-pool.js'
import { errorResponse, failedRunResponse, type ErrorBody } from '../server/http/errors.js'
import { NEXUS_DEFAULTS } from '../server/options.js'
import { validateCallerInputs } from '../workflow/caller-inputs.js'
import { writeJson } from './answers.js'
import { describeStatus } from '../discovery/report.js'
import type { LocalRunOptions } from './client-options.js'
import type { CommandIo } from './commands/io.js'
import { hardExit } from './hard-exit.js'
import { closeWithin, finish } from './process-end.js'

/**
 * `nexflow run --local`: the workflow run without a server. The project is discovered the way the
 * server discovers it (each file imported in an isolated worker with a deadline), the workflow is
 * looked up in the report, its inputs are checked as the server checks them, and it runs in one
 * execution worker with a deadline. This thread never imports a user file.
 */

/** How long closing discovery or the pool may take before the CLI stops waiting. */
const CLOSE_GRACE_MS = 2000
/** After a timed-out run's worker ignores `terminate()` this long (stuck in native code), it is abandoned. */
const RUN_STUCK_GRACE_MS = 1000

/** Why the run stopped early: Ctrl-C (or SIGTERM). */
class Interrupted extends NexflowError {
  readonly signal: NodeJS.Signals

  constructor(signal: NodeJS.Signals) {
    super('WORKFLOW_ABORTED', `interrupted by ${signal}`)
    this.name = 'Interrupted'
    this.signal = signal
  }
}

/** Runs the workflow and prints its answer; returns the exit code (ending the process itself when it owns it). */
export async function runLocal(options: LocalRunOptions, inputs: Record<string, unknown>, io: CommandIo): Promise<number> {
  const root = statOrUndefined(options.root)
  if (root?.isDirectory() !== true) {
    io.err.write(`nexflow run: --root ${JSON.stringify(options.root)} ${root === undefined ? 'does not exist' : 'is not a folder'}; pass the folder of the app, e.g. nexflow run --local greet --root ./my-app\nRun "nexflow run --help" for usage.\n`)
    return 2
  }
  const controller = new AbortController()
  const stopForwarding = io.ownsProcess ? forwardSignals(controller) : () => {}
  let code: number
  try {
    code = await discoverAndRun(options, inputs, io, controller.signal)
  } catch (error) {
    if (!(error instanceof Interrupted) && !(controller.signal.reason instanceof Interrupted)) throw error
    const { signal } = (error instanceof Interrupted ? error : controller.signal.reason) as Interrupted
    io.err.write(`nexflow run: interrupted (${signal}); the run was stopped\n`)
    code = signal === 'SIGTERM' ? 143 : 130
  } finally {
    stopForwarding()
  }
  return finish(code, io)
}

async function discoverAndRun(options: LocalRunOptions, inputs: Record<string, unknown>, io: CommandIo, signal: AbortSignal): Promise<number> {
  const report = await discoverProject(options, signal)
  const found = findWorkflow(report, options.workflow)
  if ('error' in found) return answerError(io, found.error)
  const failed = failedFiles(report)
  if (failed.length > 0) {
    // Discovery waited for them (up to their deadline): say why it took that long.
    for (const file of failed) io.err.write(`nexflow run: warning: ${file.relativePath} could not be imported (${file.status}): ${describeStatus(file)}\n`)
  }

  try {
    validateCallerInputs(found.workflow.name, found.workflow.workflow.inputSchema, inputs)
  } catch (error) {
    if (!(error instanceof ValidationError)) throw error
    return answerError(io, errorResponse(error, development(io)).body)
  }

  // Loaded here, as the server does: `list` and `run` against a server never start piscina.
  const { ExecutionPool } = await import('../server/execution-pool.js')
  const pool: ExecutionPool = new ExecutionPool({
    workers: 1,
    maxMemoryMb: NEXUS_DEFAULTS.maxMemoryMb,
    stuckGraceMs: RUN_STUCK_GRACE_MS,
    tsconfig: projectTsconfig(options.root),
    // stdout carries the answer: whatever user code prints goes to stderr.
    stdoutToStderr: true,
  })
  const runId = randomUUID()
  try {
    const target = { kind: 'file' as const, file: found.file.path, exportName: found.workflow.exportName, name: found.workflow.name }
    // The run's deadline counts from when the worker begins it; the wait before that is the one
    // worker starting up, bounded as the server bounds a wait for a free worker.
    const reply = await pool.run({ type: 'run', runId, target, inputs }, { timeoutMs: options.runTimeoutMs, queueTimeoutMs: NEXUS_DEFAULTS.queueTimeoutMs, signal })
    if (!reply.ok) {
      const { body } = failedRunResponse(reply.error, development(io))
      body.error.details = { ...body.error.details, run_id: runId }
      return answerError(io, body)
    }
    writeJson(io.out, { outputs: JSON.parse(reply.outputs) as unknown, execution_time: reply.durationMs / 1000, workflow_id: found.workflow.name, run_id: runId })
    return 0
  } catch (error) {
    if (error instanceof Interrupted || !(error instanceof NexflowError)) throw error
    // A timeout, a worker that exited or ran out of memory: answered as the server answers them.
    const { body } = errorResponse(error, development(io))
    body.error.details = { ...body.error.details, run_id: runId }
    return answerError(io, body)
  } finally {
    await pool.close(CLOSE_GRACE_MS)
  }
}

/** Discovers the project and closes the discovery (its workers) before the run starts. */
async function discoverProject(options: LocalRunOptions, signal: AbortSignal): Promise<DiscoveryReport> {
  const chosen: DiscoveryOptions = { root: options.root, cache: options.cache, signal }
  if (options.timeoutMs !== undefined) chosen.timeoutMs = options.timeoutMs
  const run = discover(chosen)
  try {
    return await run.report
  } catch (error) {
    if (signal.aborted) throw signal.reason
    throw error
  } finally {
    await closeWithin(run, CLOSE_GRACE_MS)
  }
}

function failedFiles(report: DiscoveryReport): FileResult[] {
  return report.files.filter((file) => isFailure(file.status))
}

/** The workflow called `name` and its file, or the error body saying why there is none. */
function findWorkflow(report: DiscoveryReport, name: string): { file: FileResult; workflow: DiscoveredWorkflow } | { error: ErrorBody } {
  const claimants = report.files.flatMap((file) => (file.manifest?.workflows ?? []).filter((workflow) => workflow.name === name).map((workflow) => ({ file, workflow })))
  if (report.workflows.includes(name) && claimants.length === 1) return claimants[0] as { file: FileResult; workflow: DiscoveredWorkflow }
  const notFound = (message: string, details: Record<string, unknown>): { error: ErrorBody } => ({ error: { error: { code: 'WORKFLOW_NOT_FOUND', message, details: { workflow: name, ...details } } } })
  if (claimants.length > 1) {
    const where = claimants.map(({ file, workflow }) => `${file.relativePath} (export ${workflow.exportName})`)
    return notFound(`Workflow "${name}" is produced by more than one export, so none is run (a server serves neither): ${where.join(', ')}; give each a distinct name`, { files: claimants.map(({ file }) => file.relativePath) })
  }
  const closest = closestName(name, report.workflows)
  const failed = failedFiles(report)
  const found = report.workflows.length === 0 ? `no workflows were found under ${report.root}` : `the workflows under ${report.root} are ${report.workflows.join(', ')}`
  const maybe = failed.length === 0 ? '' : `; it may be in a file that could not be imported: ${failed.map((file) => `${file.relativePath} (${file.status})`).join(', ')}; nexflow check ${report.root} shows why`
  return notFound(`Workflow "${name}" was not found${closest === undefined ? '' : ` (did you mean "${closest}"?)`}; ${found}${maybe}`, {
    workflows: report.workflows,
    ...(failed.length === 0 ? {} : { failedFiles: failed.map((file) => ({ path: file.relativePath, status: file.status })) }),
  })
}

/** Prints an error answer as the server would send it, and its one line; exit code 1. */
function answerError(io: CommandIo, body: ErrorBody): number {
  writeJson(io.out, body)
  io.err.write(`nexflow run: ${body.error.code}: ${body.error.message}\n`)
  return 1
}

/** Stacks in error bodies, as the server shows them: only with NODE_ENV=development. */
function development(io: CommandIo): boolean {
  return io.env.NODE_ENV === 'development'
}

/** Ctrl-C stops discovery or the run (killing their workers) instead of the CLI under them; a second signal ends the process at once. */
function forwardSignals(controller: AbortController): () => void {
  const onSignal = (signal: NodeJS.Signals) => {
    if (controller.signal.aborted) hardExit(signal === 'SIGTERM' ? 143 : 130)
    controller.abort(new Interrupted(signal))
  }
  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)
  return () => {
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
  }
}


function statOrUndefined(path: string) {
  try {
    return statSync(path)
  } catch {
    return undefined
  }
}
