// The file the server's execution pool (piscina) loads in each worker thread. It loads the
// execution logic the main side chose (dist/workers/execution/worker.js when nexflow runs built,
// else workers/execution/worker.ts), registers tsx so user TypeScript can be imported, and hands
// piscina the task handler. CommonJS with a Promise as its export: piscina `require()`s it first
// and awaits the export, and requiring an ES module would print Node 20's experimental warning.
// Plain JavaScript: nothing can load TypeScript before this runs.
'use strict'
const { workerData } = require('node:worker_threads')

module.exports = (async () => {
  /** @type {{ entry: string, tsconfig?: string, stdoutToStderr: boolean }} */
  const { entry, tsconfig, stdoutToStderr } = workerData
  // Before any user code: with MCP on stdio, a stray console.log would corrupt the protocol.
  if (stdoutToStderr) process.stdout.write = process.stderr.write.bind(process.stderr)
  // A compiled entry (and nexflow behind it) loads natively, before any loader hooks.
  let worker = entry.endsWith('.js') ? await import(entry) : undefined
  require('tsx/cjs/api').register()
  const { register } = await import('tsx/esm/api')
  register(tsconfig === undefined ? {} : { tsconfig })
  worker ??= await import(entry)
  return worker.handle
})()
