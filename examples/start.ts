// `npm start`: the main job on the embedded defaults, until the Nexus server exists. It discovers
// the bundled shop app in isolated workers (this thread never imports the app's files to learn
// what they hold), then runs its workflows, storing orders in the embedded SQLite database.
import { discover, LocalRuntime } from '../src/index.js'

const root = new URL('./shop/', import.meta.url).pathname
const run = discover({ root, timeoutMs: 10_000 })
for await (const file of run) {
  console.log(`discovered ${file.relativePath}: ${file.status}${file.cached ? ' (cached)' : ''} in ${file.durationMs.toFixed(0)} ms, workflows: ${file.workflows.join(', ') || '-'}, models: ${file.models.join(', ') || '-'}`)
}
const report = await run.report
await run.close()
console.log(`discovery ${report.ok ? 'ok' : 'FAILED'}: ${report.files.length} files, ${report.workflows.length} workflows in ${report.durationMs.toFixed(0)} ms\n`)
if (!report.ok) process.exit(1)

// Running a workflow still happens here, in-process; the server will run them in worker threads.
const { runSamples } = await import('./shop/workflows/price-order.js')
const { workflow: recordOrder } = await import('./shop/workflows/record-order.js')
const { db } = await import('./shop/models.js')
await runSamples()
const runtime = new LocalRuntime()
for (const parameters of [{ customer: 'Ada', total: 121.5 }, { customer: 'Grace', total: 16 }]) {
  const { results } = await runtime.execute(recordOrder, { parameters })
  console.log(`[record-order] ${String(results.summary?.text)}`)
}
console.log(`\norders are stored in ${db.databaseUrl}`)
await db.close()
