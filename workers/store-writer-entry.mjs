// The file the embedded run store's writer thread starts with. It loads the writer the main side
// chose (dist/workers/store/writer.js when nexflow runs built, natively; workers/store/writer.ts in
// a checkout, through tsx) and starts it. No user code runs in this thread. Plain JavaScript:
// nothing can load TypeScript before this runs.
import { workerData } from 'node:worker_threads'

/** @type {{ logic: string }} */
const { logic } = workerData
if (!logic.endsWith('.js')) {
  const { register } = await import('tsx/esm/api')
  register()
}
const { start } = await import(logic)
start()
