// Child-process transport of discovery: messages over the IPC channel; the logic knows nothing of it.
import { serializeError } from '../src/errors.js'
import type { WorkerToMainMessage } from '../src/protocol/discovery-messages.js'
import { watchParent } from './discovery/parent-watchdog.js'
import { startDiscoveryWorker } from './discovery/worker.js'

/** Called by bootstrap.mjs once tsx is registered, before any user module can block this thread. */
export function start(): void {
  if (process.send === undefined) throw new Error('workers/discovery-process runs in a child process with an IPC channel')
  // The process must not outlive the main one.
  watchParent()
  // Bound now: user code may replace process.send or process.exit.
  const sendRaw = process.send.bind(process) as (message: WorkerToMainMessage, handle?: undefined, options?: object, callback?: (error: Error | null) => void) => boolean
  const exit = process.exit.bind(process)

  const worker = startDiscoveryWorker(JSON.parse(process.argv[3] ?? 'null'), (message) => {
    sendRaw(message)
  })
  process.on('message', (message: unknown) => worker.receive(message))
  // The main process is gone: nobody is left to report to.
  process.on('disconnect', () => exit(0))
  // A thread's uncaught exception reaches the main side as an 'error' event; a process says so itself.
  process.on('uncaughtException', (error) => {
    sendRaw({ type: 'crash', error: serializeError(error) }, undefined, {}, () => exit(70))
  })
}
