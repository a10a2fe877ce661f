import { pathToFileURL } from 'node:url'
import { MessagePort, workerData } from 'node:worker_threads'
// All of nexflow, loaded with the worker: a user file's `import 'nexflow'` finds it loaded, and
// the node registry it fills (DataFlow models, defineNode types) is the one runs use.
import '../../src/index.js'
import { NexflowError, serializeError, WorkflowExecutionError, type SerializedError } from '../../src/errors.js'
import { dataflowInstances } from '../../src/dataflow/instances.js'
import { EXECUTION_ENV } from '../../src/protocol/isolation.js'
import { executionTaskSchema, executionWorkerDataSchema, type FileTarget, type JsonTarget, type RunReply, type RunTask, type WarmReply } from '../../src/protocol/execution-messages.js'
import { noteRunStarted, runStarts } from '../../src/protocol/run-starts.js'
import { nodeFinished, type RunProgressMessage } from '../../src/protocol/run-progress.js'
import { WorkflowBuilder } from '../../src/workflow/builder.js'
import { defaultRegistry } from '../../src/workflow/default-registry.js'
import { failedRunError } from '../../src/workflow/failed-run.js'
import { LocalRuntime, type RunObserver } from '../../src/workflow/runtime.js'
import { Workflow } from '../../src/workflow/workflow.js'
import { exportsOf } from '../discovery/collect.js'

// Captured before any user module runs: a module may replace them.
const stringify = JSON.stringify
const now = performance.now.bind(performance)

process.env[EXECUTION_ENV] = '1'

const starts = runStarts(executionWorkerDataSchema.parse(workerData).runStarts)
const runtime = new LocalRuntime()
/** Workflows by file and export: each file is imported once per worker and kept. */
const fromFiles = new Map<string, Promise<Workflow>>()
/** Registered workflows sent as data, by name and version. */
const fromJson = new Map<string, Workflow>()
/**
 * Every module this worker imported by path (discovered files at warm-up or first run, the
 * modules of registered workflows' node types), each imported once. import() of a module that is
 * already loaded still makes a round trip to the loader-hooks thread (tsx, Node 20): about 100 us
 * of a workflow's first run in this worker, measured.
 */
const modules = new Map<string, Promise<unknown>>()

function bigintSafe(_key: string, value: unknown): unknown {
  return typeof value === 'bigint' ? value.toString() : value
}

/**
 * Outputs as JSON text, bigints as decimal strings. A replacer takes JSON.stringify off its fast
 * path, so it is used only for outputs the plain call refuses: one with a bigint anywhere.
 */
function toJson(results: unknown): string {
  try {
    return stringify(results)
  } catch {
    return stringify(results, bigintSafe)
  }
}

async function importWorkflow(target: FileTarget): Promise<Workflow> {
  const namespace = (await importModule(target.file)) as Record<string, unknown>
  const exported = exportsOf(namespace, undefined, dataflowInstances()).get(target.exportName)
  if (Workflow.isWorkflow(exported)) return exported
  if (WorkflowBuilder.isBuilder(exported)) return exported.build({ name: target.name })
  throw new Error(`${target.file} no longer exports a workflow as "${target.exportName}"; it changed after discovery`)
}

function importModule(file: string): Promise<unknown> {
  let imported = modules.get(file)
  if (imported === undefined) {
    imported = import(pathToFileURL(file).href)
    modules.set(file, imported)
    imported.catch(() => modules.delete(file))
  }
  return imported
}

async function jsonWorkflow(target: JsonTarget): Promise<Workflow> {
  const key = `${target.workflow.name}\0${target.version}`
  let workflow = fromJson.get(key)
  if (workflow !== undefined) return workflow
  if (target.modules !== undefined) await Promise.all(target.modules.map(importModule))
  fromJson.set(key, (workflow = Workflow.fromJSON(target.workflow)))
  return workflow
}

function workflowFor(task: RunTask): Promise<Workflow> {
  const { target } = task
  if (target.kind === 'json') return jsonWorkflow(target)
  const key = `${target.file}\0${target.exportName}\0${target.name}`
  let workflow = fromFiles.get(key)
  if (workflow === undefined) {
    workflow = importWorkflow(target)
    fromFiles.set(key, workflow)
    // A file that failed to import may succeed once fixed; do not keep the failure.
    workflow.catch(() => fromFiles.delete(key))
  }
  return workflow
}

/** An error as plain JSON data: details may hold node outputs that structured clone rejects. */
function plainError(thrown: unknown): SerializedError {
  const error = serializeError(thrown)
  // A node's own error says what went wrong (a unique key taken, a record not found): keep its code.
  if (thrown instanceof WorkflowExecutionError && thrown.cause instanceof NexflowError) {
    error.details = { ...error.details, cause: { code: thrown.cause.code, message: thrown.cause.message } }
  }
  try {
    return JSON.parse(stringify(error, bigintSafe)) as SerializedError
  } catch {
    return { name: error.name, message: error.message, ...(error.code === undefined ? {} : { code: error.code }) }
  }
}

/** A streamed run's observer: each node's start and finish posted on the run's port as plain data. */
function progressObserver(port: MessagePort): RunObserver {
  const post = (message: RunProgressMessage) => port.postMessage(message)
  return {
    nodeStarted: (nodeId, nodeType) => post({ type: 'node-started', nodeId, nodeType }),
    nodeFinished: (nodeId, ms, outcome) => post(nodeFinished(nodeId, ms, outcome)),
  }
}

async function run(task: RunTask): Promise<RunReply> {
  try {
    return await runWorkflow(task)
  } finally {
    // Everything this run posted was sent before the end marker; the main thread then stops listening.
    if (task.progress !== undefined) {
      task.progress.postMessage({ type: 'end' } satisfies RunProgressMessage)
      task.progress.close()
    }
  }
}

async function runWorkflow(task: RunTask): Promise<RunReply> {
  const started = now()
  noteRunStarted(starts, task.seq)
  try {
    const workflow = await workflowFor(task)
    const observer = task.progress === undefined ? undefined : progressObserver(task.progress)
    const result = await runtime.execute(workflow, { parameters: task.inputs, caller: 'remote', runId: task.runId, ...(observer === undefined ? {} : { observer }) })
    const failed = failedRunError(workflow, result)
    if (failed !== undefined) return { ok: false, error: failed, durationMs: now() - started }
    const { results } = result
    let outputs: string
    try {
      outputs = toJson(results)
    } catch (error) {
      throw new Error(`the run's outputs cannot be sent as JSON (${(error as Error).message})`, { cause: error })
    }
    return { ok: true, outputs, durationMs: now() - started }
  } catch (error) {
    return { ok: false, error: plainError(error), durationMs: now() - started }
  }
}

/**
 * Imports in flight at once during a warm-up. One at a time, each import sleeps while the
 * loader-hooks thread (tsx, Node 20) resolves and loads it, and each request wakes a sleeping
 * thread; with several in flight both threads stay busy. bench/server.ts's 1000 files in one
 * worker: 2.7 s -> 1.6 s, and less CPU (BENCHMARKS.md).
 */
const WARM_CONCURRENCY = 16

async function warm(files: readonly string[], types: readonly string[] | undefined): Promise<WarmReply> {
  const failures: WarmReply['failures'] = []
  let warmed = 0
  let next = 0
  // Files are independent entry points, imported at once as an app's Promise.all would; modules
  // they share are still evaluated once, before the files that import them.
  const importer = async () => {
    while (next < files.length) {
      const file = files[next++] as string
      try {
        await importModule(file)
        warmed++
      } catch (error) {
        failures.push({ file, error: plainError(error) })
      }
    }
  }
  await Promise.all(Array.from({ length: Math.min(WARM_CONCURRENCY, files.length) }, importer))
  if (types === undefined) return { warmed, failures }
  const registry = defaultRegistry()
  return { warmed, failures, missingTypes: types.filter((type) => !registry.has(type)) }
}

const nonEmpty = (value: unknown): value is string => typeof value === 'string' && value.length > 0

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false
  const proto = Object.getPrototypeOf(value) as unknown
  return proto === Object.prototype || proto === null
}

/**
 * A run of a discovered file's workflow (nearly every task), checked as `runTaskSchema` would
 * check it, or `undefined` for anything else: the task schema also holds the workflow JSON
 * schema, which is recursive, and zod gives every parse of it memo state of its own, which made
 * it the costliest check of a one-node run. Everything this does not accept goes to the schema.
 */
function fileRunTask(task: unknown): RunTask | undefined {
  if (!isPlainObject(task) || task.type !== 'run') return undefined
  const { runId, seq, target, inputs, progress } = task
  // The schema's record drops an own `__proto__` key, which JSON can carry: left to it.
  if (!nonEmpty(runId) || !Number.isSafeInteger(seq) || (seq as number) <= 0 || !isPlainObject(inputs) || Object.hasOwn(inputs, '__proto__')) return undefined
  if (!isPlainObject(target) || target.kind !== 'file' || !nonEmpty(target.file) || !nonEmpty(target.exportName) || !nonEmpty(target.name)) return undefined
  if (progress !== undefined && !(progress instanceof MessagePort)) return undefined
  return {
    type: 'run',
    runId,
    seq: seq as number,
    target: { kind: 'file', file: target.file, exportName: target.exportName, name: target.name },
    inputs,
    ...(progress === undefined ? {} : { progress }),
  }
}

/** piscina's task handler. Never throws for a failed run: that is an answer, sent as data. */
export async function handle(task: unknown): Promise<RunReply | WarmReply> {
  const parsed = fileRunTask(task) ?? executionTaskSchema.parse(task)
  return parsed.type === 'warm' ? warm(parsed.files, parsed.types) : run(parsed)
}
