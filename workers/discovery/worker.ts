import { threadId } from 'node:worker_threads'
// All of nexflow, loaded with the worker: user files import it (`import { WorkflowBuilder } from
// 'nexflow'` resolves to this very module), so the first file a worker imports finds it loaded;
// and when nexflow runs built, it loads here natively, before any loader hooks (bootstrap.mjs).
import '../../src/index.js'
import { serializeError } from '../../src/errors.js'
import { mainToWorkerMessageSchema, workerInitSchema, type DescribedDataflow, type ImportRequest, type WorkerToMainMessage } from '../../src/protocol/discovery-messages.js'
import { importModule, type ImportOutcome } from './import-module.js'
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

  /** DataFlow descriptions this worker has sent, by the id its later manifests use instead. */
  const described = new WeakMap<object, number>()
  let nextDataflowId = 0

  function importFile(request: ImportRequest): Promise<ImportOutcome> {
    const { taskId, file } = request
    let evaluated = 0
    return importModule(file, {
      root: config.root,
      tracker,
      maxManifestBytes: config.maxManifestBytes,
      onLoading: (module) => {
        // The main side takes the file itself to be loading from "started" on: saying so again
        // is news only after another module (the first time a worker loads the app's models).
        if (evaluated++ === 0 && module === file) return
        send({ type: 'loading', taskId, module })
      },
    })
  }

  /** The outcome as sent: DataFlow instances by id, described the first time. */
  function toMessage(outcome: ImportOutcome, taskId: number, next: number | undefined): { message: WorkerToMainMessage; fresh: [object, number][] } {
    const tail = { ...(outcome.retire === undefined ? {} : { retire: outcome.retire }), ...(next === undefined ? {} : { next }) }
    if (outcome.type === 'failed') return { message: { ...outcome, taskId, ...tail }, fresh: [] }
    const fresh: [object, number][] = []
    const newlyDescribed: DescribedDataflow[] = []
    const ids = outcome.manifest.dataflows.map((dataflow) => {
      let id = described.get(dataflow) ?? fresh.find(([known]) => known === dataflow)?.[1]
      if (id === undefined) {
        id = nextDataflowId++
        fresh.push([dataflow, id])
        newlyDescribed.push({ id, dataflow })
      }
      return id
    })
    const manifest = { ...outcome.manifest, dataflows: ids }
    return { message: { type: 'imported', taskId, manifest, ...(newlyDescribed.length === 0 ? {} : { described: newlyDescribed }), ...tail }, fresh }
  }

  /** Sends the outcome of `taskId`; false if it could not be sent (the worker then retires). */
  function report(outcome: ImportOutcome, taskId: number, next: number | undefined): boolean {
    try {
      const { message, fresh } = toMessage(outcome, taskId, next)
      send(message)
      // Only once sent: a description that never arrived must be sent again.
      for (const [dataflow, id] of fresh) described.set(dataflow, id)
      return true
    } catch (error) {
      // The manifest could not be sent (e.g. a value structured clone rejects): say so instead.
      retiring = true
      send({ type: 'failed', taskId, status: 'invalid', error: serializeError(error), importMs: 0, imports: [], retire: 'the manifest could not be sent' })
      return false
    }
  }

  async function drain(): Promise<void> {
    draining = true
    let request = retiring ? undefined : queue.shift()
    if (request !== undefined) send({ type: 'started', taskId: request.taskId })
    while (request !== undefined) {
      const outcome = await importFile(request)
      // A turn of the event loop before reporting: a rejection this file left unhandled surfaces
      // now, ending the worker with this file blamed, not the next one.
      await new Promise((resolve) => intrinsics.setImmediate(resolve))
      if (outcome.retire !== undefined) retiring = true
      // The next file begins as this one is reported, in the same message.
      const next = retiring ? undefined : queue.shift()
      request = report(outcome, request.taskId, next?.taskId) ? next : undefined
    }
    draining = false
  }

  send({ type: 'ready', pid: process.pid, threadId })
  return {
    receive(message) {
      const parsed = mainToWorkerMessageSchema.safeParse(message)
      if (!parsed.success) return
      if (parsed.data.type === 'cancel') {
        // Dropped only if not begun; once begun, the report on the previous file said so.
        const { taskId } = parsed.data
        const index = queue.findIndex((request) => request.taskId === taskId)
        if (index === -1) return
        queue.splice(index, 1)
        send({ type: 'cancelled', taskId })
        return
      }
      queue.push(parsed.data)
      if (!draining) void drain()
    },
  }
}
