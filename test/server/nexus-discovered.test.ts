import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { Nexus, type NexusLogger, type NexusOptions } from '../../src/index.js'
import { runCli } from '../cli/run-cli.js'
import { REPO, tempProject } from '../discovery/helpers.js'

const quiet: NexusLogger = { info: () => {}, warn: () => {} }
const fixture = (name: string) => new URL(`../../fixtures/nexus/${name}`, import.meta.url).pathname
let app: Nexus | undefined

afterEach(async () => {
  await app?.close()
  app = undefined
})

describe('Nexus serving discovered files', () => {
  it('a file that starts its own server at import does not listen from the worker, and discovery says so', async () => {
    app = new Nexus({ apiPort: 0, root: fixture('starts-itself'), autoDiscovery: { cache: false }, workers: 1, logger: quiet })
    await app.start()
    const report = await app.ready()
    const file = report?.files.find((f) => f.relativePath === 'workflows/app.ts')
    expect(file?.status).toBe('ok')
    expect(file?.manifest?.warnings.join('\n')).toMatch(/Nexus\.start\(\) was called while the file was imported in a discovery worker; it did not listen/)
    // The workflow is served by this server, and running it (which imports the file in an
    // execution worker, where start() is called again) does not open a port either.
    const response = await fetch(`${app.url}/workflows/starts-itself/execute`, { method: 'POST' })
    expect(response.status).toBe(200)
    expect(await response.json()).toMatchObject({ outputs: { hi: { hi: true } } })
  })

  it('a run stuck in native code is answered 504 at its deadline and its thread is counted as abandoned in /health', async () => {
    app = new Nexus({ apiPort: 0, root: fixture('native-stuck'), autoDiscovery: { cache: false }, workers: 1, runTimeoutMs: 500, logger: quiet })
    await app.start()
    await app.ready()
    const url = app.url as string
    const response = await fetch(`${url}/workflows/native-sleep/execute`, { method: 'POST', body: JSON.stringify({ inputs: { seconds: 4 } }) })
    expect(response.status).toBe(504)
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe('RUN_TIMEOUT')
    // The thread cannot be stopped until `sleep` returns; after the grace it is left behind, and the
    // pool has started a replacement that serves the next run.
    await expect.poll(async () => ((await (await fetch(`${url}/health`)).json()) as { pool: { abandoned: number } }).pool.abandoned, { timeout: 10_000 }).toBe(1)
    const next = await fetch(`${url}/workflows/native-sleep/execute`, { method: 'POST', body: JSON.stringify({ inputs: { seconds: 0 } }) })
    expect(next.status).toBe(200)
  })

  it('a start after `nexflow check` on the same root imports nothing in discovery: the check filled the manifest cache it reads', async () => {
    // What an image built with `RUN npx nexflow check .` gives its first start (README).
    const builder = JSON.stringify(join(REPO, 'src', 'workflow', 'builder.ts'))
    const files: Record<string, string> = { 'package.json': '{ "type": "module" }' }
    for (let i = 0; i < 3; i++) files[`workflows/flow-${i}.ts`] = `import { WorkflowBuilder } from ${builder}\nexport const workflow = new WorkflowBuilder().addNode('Function', 'f', { code: '() => ({ n: ${i} })' }).build({ name: 'flow-${i}' })\n`
    const project = tempProject(files, 'nexflow-checked-')
    try {
      const check = await runCli(['check', project.root])
      expect(check).toMatchObject({ code: 0 })
      expect(check.stdout).toContain('3 files (3 ok)')
      app = new Nexus({ apiPort: 0, root: project.root, workers: 1, logger: quiet })
      await app.start()
      const report = await app.ready()
      expect(report?.files.map((file) => [file.relativePath, file.status, file.cached])).toEqual([0, 1, 2].map((i) => [`workflows/flow-${i}.ts`, 'ok', true]))
      const response = await fetch(`${app.url}/workflows/flow-2/execute`, { method: 'POST' })
      expect(await response.json()).toMatchObject({ outputs: { f: { n: 2 } } })
    } finally {
      await app?.close()
      app = undefined
      project.remove()
    }
  })

  it('a start whose files all come from the manifest cache still has every worker import them before /ready', async () => {
    // Each file spends 100 ms of its import in a loop: 15 of them take a worker 1.5 s to import,
    // while a start that finds them all in the cache discovers them in a few milliseconds.
    const builder = JSON.stringify(join(REPO, 'src', 'workflow', 'builder.ts'))
    const files: Record<string, string> = { 'package.json': '{ "type": "module" }' }
    for (let i = 0; i < 15; i++) {
      files[`workflows/slow-${i}.ts`] = `import { WorkflowBuilder } from ${builder}
const end = Date.now() + 100
while (Date.now() < end) {}
export const workflow = new WorkflowBuilder().addNode('Function', 'f', { code: '() => ({ n: ${i} })' }).build({ name: 'slow-${i}' })
`
    }
    const project = tempProject(files, 'nexflow-warm-')
    const warnings: string[] = []
    const options: NexusOptions = { apiPort: 0, root: project.root, autoDiscovery: { cache: true, timeoutMs: 1000 }, workers: 1, logger: { info: () => {}, warn: (message) => warnings.push(message) } }
    try {
      app = new Nexus(options)
      await app.start()
      expect((await app.ready())?.files.filter((file) => file.status === 'ok')).toHaveLength(15)
      await app.close()

      app = new Nexus(options)
      await app.start()
      const report = await app.ready()
      expect(report?.files.every((file) => file.cached)).toBe(true)
      // A warm-up stopped at its deadline says so here, and its worker is replaced by one that imports each file on its first run.
      expect(warnings).toEqual([])
      const response = await fetch(`${app.url}/workflows/slow-14/execute`, { method: 'POST' })
      expect(await response.json()).toMatchObject({ outputs: { f: { n: 14 } } })
    } finally {
      await app?.close()
      app = undefined
      project.remove()
    }
  })
})
