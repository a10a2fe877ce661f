// Entry of the worker threads the DataFlow thread tests start: loads the TypeScript task with tsx,
// runs it, and answers with plain data.
import { parentPort, workerData } from 'node:worker_threads'
import { register } from 'tsx/esm/api'

register()
const { runTask } = await import('./task.ts')
try {
  parentPort.postMessage({ type: 'done', result: await runTask(workerData, (message) => parentPort.postMessage(message)) })
} catch (error) {
  parentPort.postMessage({ type: 'failed', error: { message: error?.message, code: error?.code } })
}
