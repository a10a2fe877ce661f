// First module of every discovery worker, thread or child process. It registers tsx, so user
// TypeScript can be imported (and, in a checkout, the TypeScript worker entry itself), then
// imports the entry the main side chose: dist/workers/*.js when nexflow runs built, else
// workers/*.ts. Plain JavaScript: nothing can load TypeScript before this runs.
import { register as registerCommonJs } from 'tsx/cjs/api'
import { register as registerEsm } from 'tsx/esm/api'
import { workerData } from 'node:worker_threads'

/** @type {{ entry: string, init: { tsconfig?: string } }} */
const { entry, init } = workerData ?? { entry: process.argv[2], init: JSON.parse(process.argv[3] ?? '{}') }

registerCommonJs()
registerEsm(init.tsconfig === undefined ? {} : { tsconfig: init.tsconfig })
await import(entry)
