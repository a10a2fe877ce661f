// `npm run bench:reload-memory`: whether `nexflow dev` grows without bound over many reloads.
// A Nexus in development mode, in this process, on a generated one-file app; each save waits for
// its `reload-finished`, and every 25 reloads prints RSS and heap after a forced GC.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Nexus } from '../src/index.js'

const REPO = fileURLToPath(new URL('..', import.meta.url))
const BUILDER = JSON.stringify(join(REPO, 'src', 'workflow', 'builder.ts'))
const RELOADS = Number(process.env.BENCH_RELOADS ?? 200)
const PAUSE_MS = Number(process.env.BENCH_RELOAD_PAUSE_MS ?? 200)

const workflowFile = (version: string) => `import { WorkflowBuilder } from ${BUILDER}
export const workflow = new WorkflowBuilder().addNode('Function', 'f', { code: '() => ({ version: ${JSON.stringify(version)} })' }).build({ name: 'probe' })
`

const gc = (globalThis as { gc?: () => void }).gc
if (gc === undefined) throw new Error('run with node --expose-gc (npm run bench:reload-memory does)')
const root = mkdtempSync(join(tmpdir(), 'nexflow-bench-reload-memory-'))
mkdirSync(join(root, 'workflows'))
writeFileSync(join(root, 'package.json'), '{ "type": "module" }')
writeFileSync(join(root, 'workflows', 'probe.ts'), workflowFile('v0'))
const app = new Nexus({ apiPort: 0, root, dev: true, workers: 1, logger: { info: () => {}, warn: () => {} } })
try {
  await app.start()
  await app.ready()
  const mb = (bytes: number) => (bytes / 2 ** 20).toFixed(1)
  const reading = (label: string) => {
    gc()
    const memory = process.memoryUsage()
    console.log(`${label.padEnd(14)} rss ${mb(memory.rss)} MB  heap ${mb(memory.heapUsed)} MB`)
  }
  reading('before')
  for (let i = 1; i <= RELOADS; i++) {
    const finished = new Promise<void>((resolve) => {
      const off = app.onEvent((event) => {
        if (event.type !== 'reload-finished') return
        off()
        resolve()
      })
    })
    writeFileSync(join(root, 'workflows', 'probe.ts'), workflowFile(`v${i}`))
    await finished
    await new Promise((resolve) => setTimeout(resolve, PAUSE_MS))
    if (i % 25 === 0) reading(`${i} reloads`)
  }
} finally {
  await app.close()
  rmSync(root, { recursive: true, force: true })
}
