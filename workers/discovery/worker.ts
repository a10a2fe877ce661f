import { threadId } from 'node:worker_threads'
import { serializeError } from '../../src/errors.js'
import { mainToWorkerMessageSchema, workerInitSchema, type ImportRequest, type WorkerToMainMessage } from '../../src/protocol/discovery-messages.js'
import { importModule } from './import-module.js'
import { intrinsics } from './intrinsics.js'
import { ModuleTracker } from './module-tracker.js'

export interface DiscoveryWorker {
  /** Hands the worker a message from the main side (anything: it is parsed here). */
  receive(message: unknown): void
}

/**
 * The discovery worker's logic, whatever carries its messages (a thread's port or a child
 * process's IPC channel): it imports one file per `import` request, one at a time in the order
 * received, and answers with data.
 * `send` must deliver a message before returning control for long (postMessage and process.send
 * both queue at once), so "started" and "loading" reach the main thread even if the import then
 * blocks the worker for good.
 */
export function startDiscoveryWorker(init: unknown, send: (message: WorkerToMainMessage) => void): DiscoveryWorker {
  const config = workerInitSchema.parse(init)
  process.env.NEXFLOW_DISCOVERY = '1'
  const tracker = new ModuleTracker(config.root, config.hooksUrl)
  /** Requests not begun yet, in order. */
  const queue: ImportRequest[] = []
  let draining = false
  /**
   * Set once this worker asked to be replaced (an import left a timer running or replaced a
   * global, its heap is filling up; see hygiene.ts): it begins nothing more, not even a file it
   * was handed in advance. The pool gives that file to another worker; beginning it here as well
   * would evaluate it twice (side effects included), beside whatever the last import left.
   */
  let retiring = false

  async function run(request: ImportRequest): Promise<void> {
    const { taskId, file } = request
    send({ type: 'started', taskId })
    const outcome = await importModule(file, {
      root: config.root,
      tracker,
      maxManifestBytes: config.maxManifestBytes,
      onLoading: (module) => send({ type: 'loading', taskId, module }),
    })
    try {
      if (outcome.retire !== undefined) retiring = true
      send({ ...outcome, taskId })
    } catch (error) {
      // The manifest could not be sent (e.g. a value structured clone rejects): say so instead.
      retiring = true
      send({ type: 'failed', taskId, status: 'invalid', error: serializeError(error), importMs: 0, imports: [], retire: 'the manifest could not be sent' })
    }
  }

  async function drain(): Promise<void> {
    draining = true
    for (;;) {
      // A turn of the event loop first: a "cancel" for the next request may be waiting.
      await new Promise((resolve) => intrinsics.setImmediate(resolve))
      const request = retiring ? undefined : queue.shift()
      if (request === undefined) break
      await run(request)
    }
    draining = false
  }

  send({ type: 'ready', pid: process.pid, threadId })
  return {
    receive(message) {
      const parsed = mainToWorkerMessageSchema.safeParse(message)
      if (!parsed.success) return
      if (parsed.data.type === 'cancel') {
        const index = queue.findIndex((request) => request.taskId === parsed.data.taskId)
        if (index !== -1) queue.splice(index, 1)
        return
      }
      queue.push(parsed.data)
      if (!draining) void drain()
    },
  }
}
