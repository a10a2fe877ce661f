import { Worker } from 'node:worker_threads'
import { serializeError, type SerializedError } from '../../errors.js'
import { OutputTail, type Isolate, type IsolateEvents, type IsolateSpec } from './isolate.js'

/**
 * A raw `worker_threads.Worker` (not a piscina task, see DiscoveryPool): the pool must see its exit
 * event and exit code, `terminate()` it mid-import, and tell a thread that stopped from one
 * stuck in native code.
 */
export function spawnThread(spec: IsolateSpec, events: IsolateEvents): Isolate {
  const worker = new Worker(spec.bootstrap, {
    workerData: { entry: spec.entry, init: spec.init },
    env: { ...process.env, NEXFLOW_DISCOVERY: '1' },
    // Not the parent's flags: under `tsx` or vitest they would load other loaders into the thread.
    execArgv: [],
    resourceLimits: { maxOldGenerationSizeMb: spec.maxMemoryMb },
    // Captured, not inherited: user output must not interleave with a reporter's, and the tail explains failures.
    stdout: true,
    stderr: true,
    name: 'nexflow-discovery',
  })
  const output = new OutputTail(spec.outputTailBytes)
  worker.stdout.on('data', output.push)
  worker.stderr.on('data', output.push)
  let error: SerializedError | undefined
  let oom = false
  worker.on('message', (message: unknown) => events.message(message))
  // A message that cannot be deserialized is as malformed as one that fails the schema.
  worker.on('messageerror', (cause) => events.message({ type: 'messageerror', message: String(cause) }))
  worker.on('error', (thrown: unknown) => {
    if ((thrown as { code?: unknown } | null)?.code === 'ERR_WORKER_OUT_OF_MEMORY') oom = true
    else error = serializeError(thrown)
  })
  worker.on('exit', (code) => events.exit({ code, signal: null, oom, ...(error === undefined ? {} : { error }) }))

  return {
    description: `thread ${worker.threadId}`,
    send: (message) => worker.postMessage(message),
    kill: () => void worker.terminate(),
    unref: () => worker.unref(),
    ref: () => worker.ref(),
    takeOutput: () => output.take(),
  }
}
