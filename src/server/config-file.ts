import { closeSync, constants, fstatSync, openSync, readSync, statSync, type Stats } from 'node:fs'
import { resolve } from 'node:path'
import { finished } from 'node:stream/promises'
import { fileURLToPath } from 'node:url'
import { Worker } from 'node:worker_threads'
import { afterMessages } from '../after-messages.js'
import { OutputTail } from '../discovery/pool/isolate.js'
import { outputText } from '../discovery/pool/verdicts.js'
import { NexflowError, serializeError } from '../errors.js'
import type { SerializedErrorData } from '../protocol/discovery.js'
import { configWorkerMessageSchema, MAX_CONFIG_BYTES, toConfigData, type ConfigWorkerInit } from '../protocol/config-messages.js'
import { shown } from './config-file-lookup.js'

// Finding the file is apart: `nexflow start` looks for it before it listens, without loading what evaluating one needs.
export { CONFIG_FILE_NAMES, findConfigFile } from './config-file-lookup.js'

/** Limits of loading a config file that are not options. */
const CONFIG_FILE_TUNING = {
  /** Heap of the worker that evaluates a config file, unless `maxMemoryMb` says otherwise. */
  maxMemoryMb: 512,
  /**
   * How long a terminated worker may take to exit. terminate() stops JavaScript in milliseconds;
   * a thread still running after this is blocked in native code and is abandoned.
   */
  terminateGraceMs: 500,
  /** Bytes of the worker's recent stdout/stderr kept to explain a failure. */
  outputTailBytes: 4096,
  /** Longest error text of the worker quoted in a message. */
  maxQuotedChars: 2000,
} as const

/*
 * Where the worker files are (see src/discovery/pool/worker-files.ts): from TypeScript this file is
 * src/server/config-file.ts and the entry workers/config-thread.ts; built, it is
 * dist/src/server/config-file.js and the entry dist/workers/config-thread.js. The bootstrap is
 * never compiled and stays in <package>/workers/. The main thread only hands these paths to
 * `new Worker()`; it never imports them.
 */
const built = !import.meta.url.endsWith('.ts')
const BOOTSTRAP = fileURLToPath(new URL(built ? '../../../workers/bootstrap.mjs' : '../../workers/bootstrap.mjs', import.meta.url))
const ENTRY = new URL(`../../workers/config-thread${built ? '.js' : '.ts'}`, import.meta.url).href

export interface LoadConfigFileOptions {
  /** Deadline of the whole load, the worker's start included. */
  timeoutMs: number
  /** Heap limit of the worker thread (default 512). */
  maxMemoryMb?: number
  /** The tsconfig.json tsx should use for the config file. */
  tsconfig?: string
}

function invalid(file: string, message: string, details: Record<string, unknown> = {}, cause?: unknown): NexflowError {
  return new NexflowError('CONFIG_INVALID', message, { details: { file, ...details }, ...(cause === undefined ? {} : { cause }) })
}

/** The advice of every message about a config file that waited or hung. */
const DO_NOT_WAIT = 'a config file must not wait on anything at import (move work out of its top level)'

const clip = (text: string) => (text.length > CONFIG_FILE_TUNING.maxQuotedChars ? `${text.slice(0, CONFIG_FILE_TUNING.maxQuotedChars)}...` : text)

/**
 * Loads the options a config file holds, without evaluating it on this thread: a `.json` file is
 * read and parsed here (it is data), any other file is evaluated in a fresh worker thread that
 * must answer within `timeoutMs`, and only its checked, plain data comes back. The result is a
 * plain JSON object; its keys are not checked here (the caller's options schema does that).
 *
 * Settles within `timeoutMs` plus at most a second, whatever the file does: a worker over the
 * deadline is terminated, and abandoned if it has not stopped half a second later (it is blocked
 * in native code, which nothing can interrupt).
 * @throws NexflowError `CONFIG_INVALID` naming the file, the problem and what to do about it.
 */
export async function loadConfigFile(file: string, options: LoadConfigFileOptions): Promise<Record<string, unknown>> {
  const path = resolve(file)
  const { timeoutMs, maxMemoryMb = CONFIG_FILE_TUNING.maxMemoryMb, tsconfig } = options
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0 || timeoutMs > 2 ** 31 - 1) throw new RangeError(`loadConfigFile: timeoutMs must be a positive number of milliseconds, got ${timeoutMs}`)
  let stats: Stats | undefined
  try {
    stats = statSync(path, { throwIfNoEntry: false })
  } catch (thrown) {
    throw invalid(path, `${shown(path)} cannot be read: ${(thrown as Error).message}`, {}, thrown)
  }
  if (stats === undefined) throw invalid(path, `${shown(path)} does not exist`)
  if (!stats.isFile()) throw invalid(path, `${shown(path)} is not a file; a config file must be a regular file`)
  if (path.endsWith('.json')) return readJsonConfig(path)
  return evaluateInWorker(path, { timeoutMs, maxMemoryMb, ...(tsconfig === undefined ? {} : { tsconfig }) })
}

// JSON ------------------------------------------------------------------------------------------

function readJsonConfig(file: string): Record<string, unknown> {
  const name = shown(file)
  let text: string
  try {
    text = readCapped(file)
  } catch (thrown) {
    if (thrown instanceof NexflowError) throw thrown
    throw invalid(file, `${name} cannot be read: ${(thrown as Error).message}`, {}, thrown)
  }
  let parsed: unknown
  try {
    // A byte order mark is not JSON, but editors write one.
    parsed = JSON.parse(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text)
  } catch (thrown) {
    throw invalid(file, `${name} is not valid JSON: ${(thrown as Error).message}; fix its syntax (JSON has no comments or trailing commas; a nexflow.config.ts may)`, {}, thrown)
  }
  const data = toConfigData(parsed)
  if ('problem' in data) throw invalid(file, `${name}: ${data.problem}; it must hold one JSON object of options`)
  return data.value
}

/** The file's text, refused past {@link MAX_CONFIG_BYTES} without reading more. */
function readCapped(file: string): string {
  // Non-blocking: a FIFO put in the file's place must not block this thread on open.
  const fd = openSync(file, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0))
  try {
    const stats = fstatSync(fd)
    const tooBig = () => invalid(file, `${shown(file)} is larger than ${MAX_CONFIG_BYTES / 1024 / 1024} MiB; a config file holds options, not data`)
    if (!stats.isFile()) throw invalid(file, `${shown(file)} is not a file; a config file must be a regular file`)
    if (stats.size > MAX_CONFIG_BYTES) throw tooBig()
    // One byte more than allowed: a file that grew since fstat is caught too.
    const buffer = Buffer.alloc(MAX_CONFIG_BYTES + 1)
    let length = 0
    for (let read = -1; read !== 0 && length < buffer.length; length += read) read = readSync(fd, buffer, length, buffer.length - length, null)
    if (length > MAX_CONFIG_BYTES) throw tooBig()
    return buffer.toString('utf8', 0, length)
  } finally {
    closeSync(fd)
  }
}

// Code, in a worker thread ------------------------------------------------------------------------

/** How the worker's evaluation ended, as far as this thread can tell. */
type Ending =
  | { type: 'config'; value: Record<string, unknown> }
  | { type: 'failed'; reason: 'threw' | 'invalid'; error: SerializedErrorData }
  | { type: 'malformed'; why: string }
  | { type: 'exited'; code: number }
  | { type: 'timeout' }


/** Resolves `true` when `promise` settles within `ms`, `false` otherwise. */
async function within(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined
  const late = new Promise<false>((resolve) => (timer = afterMessages(() => resolve(false), ms)))
  const settled = promise.then(
    () => true,
    () => true,
  )
  try {
    return await Promise.race([settled, late])
  } finally {
    clearTimeout(timer)
  }
}

interface WorkerLimits {
  timeoutMs: number
  maxMemoryMb: number
  tsconfig?: string
}

async function evaluateInWorker(file: string, limits: WorkerLimits): Promise<Record<string, unknown>> {
  const init: ConfigWorkerInit = limits.tsconfig === undefined ? { file } : { file, tsconfig: limits.tsconfig }
  // A raw Worker, not a pool: this side must see its exit and its exit code, terminate() it
  // mid-import, and tell a thread that stopped from one stuck in native code.
  let worker: Worker
  try {
    worker = new Worker(BOOTSTRAP, {
      workerData: { entry: ENTRY, init },
      env: { ...process.env, NEXFLOW_DISCOVERY: '1' },
      // Not the parent's flags: under `tsx` or vitest they would load other loaders into the thread.
      execArgv: [],
      resourceLimits: { maxOldGenerationSizeMb: limits.maxMemoryMb },
      // Captured, not inherited: the tail explains a failure, and user output stays out of the server's.
      stdout: true,
      stderr: true,
      name: 'nexflow-config',
    })
  } catch (thrown) {
    // No thread to be had (a thread limit, an invalid heap limit): the file was not evaluated.
    throw invalid(file, `no worker thread could be started to load ${shown(file)}: ${(thrown as Error).message}`, {}, thrown)
  }
  const output = new OutputTail(CONFIG_FILE_TUNING.outputTailBytes)
  worker.stdout.on('data', output.push)
  worker.stderr.on('data', output.push)

  let began = false
  let unsettled = false
  let oom = false
  let crash: SerializedErrorData | undefined
  const exited = new Promise<number>((resolve) => worker.once('exit', resolve))
  // Without a listener, a worker's uncaught error would be thrown on this thread.
  worker.on('error', (thrown: unknown) => {
    if ((thrown as { code?: unknown } | null)?.code === 'ERR_WORKER_OUT_OF_MEMORY') oom = true
    else crash ??= serializeError(thrown)
  })

  let deadline: NodeJS.Timeout | undefined
  const ending = await new Promise<Ending>((resolve) => {
    // This thread's timer: nothing the config file does to its own thread can delay it.
    deadline = afterMessages(() => resolve({ type: 'timeout' }), limits.timeoutMs)
    worker.on('message', (raw: unknown) => {
      const parsed = configWorkerMessageSchema.safeParse(raw)
      if (!parsed.success) {
        const issue = parsed.error.issues[0]
        const where = issue === undefined || issue.path.length === 0 ? '' : `${issue.path.join('.')}: `
        return resolve({ type: 'malformed', why: clip(`${where}${issue?.message ?? 'invalid'}`) })
      }
      const message = parsed.data
      if (message.type === 'loading') began = true
      else if (message.type === 'unsettled') unsettled = true
      else resolve(message)
    })
    // A message that cannot be deserialized is as malformed as one that fails the schema.
    worker.on('messageerror', (cause) => resolve({ type: 'malformed', why: clip(String(cause)) }))
    void exited.then((code) => resolve({ type: 'exited', code }))
  })
  clearTimeout(deadline)

  if (ending.type === 'config') {
    // Done with it: whatever the file left running (a timer, a server) must not keep it alive,
    // nor this process.
    void worker.terminate()
    worker.unref()
    return ending.value
  }

  void worker.terminate()
  const stopped = await within(exited, CONFIG_FILE_TUNING.terminateGraceMs)
  if (stopped) {
    // The output a thread wrote before it ended arrives with its exit; wait for the streams' end.
    await within(Promise.all([finished(worker.stdout), finished(worker.stderr)]), CONFIG_FILE_TUNING.terminateGraceMs)
  } else {
    // Blocked in native code: it may never exit, and must not keep this process alive.
    worker.unref()
  }
  throw failureOf(file, ending, { began, unsettled, oom, crash, stopped, printed: outputText(output.take()), ...limits })
}

/** What this thread saw of a worker that did not answer with options. */
interface Facts extends WorkerLimits {
  /** It said "loading": the config file began evaluating. */
  began: boolean
  /** It said "unsettled": its event loop emptied with the import pending. */
  unsettled: boolean
  oom: boolean
  /** Its uncaught error, if it had one. */
  crash: SerializedErrorData | undefined
  /** It exited within the grace after terminate() (or before). */
  stopped: boolean
  /** `; it printed: ...`, or nothing. */
  printed: string
}

function failureOf(file: string, ending: Exclude<Ending, { type: 'config' }>, facts: Facts): NexflowError {
  const name = shown(file)
  const { printed } = facts
  switch (ending.type) {
    case 'failed':
      if (ending.reason === 'invalid') return invalid(file, `${name}: ${clip(ending.error.message)}${printed}`)
      return invalid(file, `${name} threw: ${thrownText(ending.error)}${printed}`, { error: ending.error }, ending.error)
    case 'malformed':
      return invalid(file, `the worker loading ${name} sent a malformed message (${ending.why}); nothing it sent is trusted. A config file must not post messages of its own${printed}`)
    case 'timeout':
      return invalid(file, `${timeoutText(name, facts)}${printed}`, { timeoutMs: facts.timeoutMs, abandoned: !facts.stopped })
    case 'exited':
      if (facts.oom) return invalid(file, `${name} ran out of memory while loading (heap limit ${facts.maxMemoryMb} MB); a config file must not build large data at import${printed}`, { maxMemoryMb: facts.maxMemoryMb })
      if (facts.crash !== undefined) return invalid(file, `the thread loading ${name} crashed: ${thrownText(facts.crash)}${printed}`, { error: facts.crash }, facts.crash)
      if (facts.unsettled && ending.code === 0) return invalid(file, `${name} never finished loading: its top-level await waits on something nothing left can settle; ${DO_NOT_WAIT}${printed}`)
      return invalid(file, `${name} ended its thread while loading: process.exit(${ending.code}); a config file must not exit${printed}`, { exitCode: ending.code })
  }
}

function thrownText(error: SerializedErrorData): string {
  return clip(error.name === 'NonError' ? error.message : `${error.name}: ${error.message}`)
}

function timeoutText(name: string, { timeoutMs, began, stopped }: Facts): string {
  const late = `${name} did not finish loading within ${timeoutMs} ms`
  if (!began) return `${late}: its worker thread had not even started evaluating it (an overloaded machine?); allow more time`
  if (stopped) return `${late}; ${DO_NOT_WAIT}`
  return (
    `${late}, and its thread did not stop within ${CONFIG_FILE_TUNING.terminateGraceMs} ms of being terminated: it is blocked in native code ` +
    `(a synchronous child process, a blocking read), which nothing can interrupt, and was abandoned; ${DO_NOT_WAIT}`
  )
}
