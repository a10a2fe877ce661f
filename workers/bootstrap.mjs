// First module of every discovery worker, thread or child process. It loads the entry the main
// side chose (dist/workers/*.js when nexflow runs built, else workers/*.ts), registers tsx so
// user TypeScript can be imported, and starts the entry. Plain JavaScript: nothing can load
// TypeScript before this runs.
//
// Why the order depends on the entry: once hooks are registered, every module this thread loads
// makes round trips to the loader thread. A compiled entry, with nexflow and zod behind it, is
// plain JavaScript and loads natively, before any hooks: a worker is ready sooner, which counts
// once per worker and again for each worker that replaces a hanging one. A TypeScript entry (a
// checkout) needs tsx first.
import { register as registerCommonJs } from 'tsx/cjs/api'
import { register as registerEsm } from 'tsx/esm/api'
import { workerData } from 'node:worker_threads'

/** @type {{ entry: string, init: { tsconfig?: string } }} */
const { entry, init } = workerData ?? { entry: process.argv[2], init: JSON.parse(process.argv[3] ?? '{}') }

/** @type {{ start: () => void } | undefined} */
let worker = entry.endsWith('.js') ? await import(entry) : undefined
registerCommonJs()
registerEsm(init.tsconfig === undefined ? {} : { tsconfig: init.tsconfig })
worker ??= await import(entry)
worker.start()
