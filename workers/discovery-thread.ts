// Worker-thread transport of discovery: messages over parentPort; the logic knows nothing of it.
import { parentPort, workerData } from 'node:worker_threads'
import { startDiscoveryWorker } from './discovery/worker.js'

/** Called by bootstrap.mjs once tsx is registered. */
export function start(): void {
  const port = parentPort
  if (port === null) throw new Error('workers/discovery-thread runs inside a worker thread')
  // Bound now: user code may replace MessagePort.prototype.postMessage.
  const post = port.postMessage.bind(port)
  const worker = startDiscoveryWorker((workerData as { init: unknown }).init, (message) => post(message))
  port.on('message', (message: unknown) => worker.receive(message))
}
