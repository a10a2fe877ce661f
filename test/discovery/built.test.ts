import { execFile } from 'node:child_process'
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { FIXTURES, REPO } from './helpers.js'

const run = promisify(execFile)

// The same compiler settings as `npm run build`, into a throwaway package: dist/ in the checkout
// would make bin/nexflow.mjs prefer stale compiled code for everyone working here.
describe('the built package', () => {
  const pkg = mkdtempSync(join(tmpdir(), 'nexflow-built-'))

  beforeAll(async () => {
    const tsc = join(REPO, 'node_modules', 'typescript', 'bin', 'tsc')
    // Type errors elsewhere in the tree do not stop emitting; what matters is that these exist.
    await run(process.execPath, [tsc, '-p', join(REPO, 'tsconfig.build.json'), '--outDir', join(pkg, 'dist')]).catch(() => undefined)
    copyFileSync(join(REPO, 'package.json'), join(pkg, 'package.json'))
    mkdirSync(join(pkg, 'workers', 'discovery'), { recursive: true })
    // The two plain-JavaScript worker files are not compiled; they ship as they are.
    copyFileSync(join(REPO, 'workers', 'bootstrap.mjs'), join(pkg, 'workers', 'bootstrap.mjs'))
    copyFileSync(join(REPO, 'workers', 'discovery', 'loader-hooks.mjs'), join(pkg, 'workers', 'discovery', 'loader-hooks.mjs'))
    copyFileSync(join(REPO, 'workers', 'execution-entry.cjs'), join(pkg, 'workers', 'execution-entry.cjs'))
    copyFileSync(join(REPO, 'workers', 'store-writer-entry.mjs'), join(pkg, 'workers', 'store-writer-entry.mjs'))
    mkdirSync(join(pkg, 'bin'))
    copyFileSync(join(REPO, 'bin', 'nexflow.mjs'), join(pkg, 'bin', 'nexflow.mjs'))
    symlinkSync(join(REPO, 'node_modules'), join(pkg, 'node_modules'))
  }, 120_000)
  afterAll(() => rmSync(pkg, { recursive: true, force: true }))

  it.each(['thread', 'process'])('runs its compiled worker entry in %s isolation', async (isolation) => {
    expect(existsSync(join(pkg, 'dist', 'workers', `discovery-${isolation}.js`))).toBe(true)
    const script = `
      const { discover } = await import(${JSON.stringify(join(pkg, 'dist', 'src', 'discovery', 'index.js'))})
      const report = await discover({ root: ${JSON.stringify(join(FIXTURES, 'discovery', 'basic'))}, cache: false, isolation: ${JSON.stringify(isolation)} }).report
      console.log(JSON.stringify({ ok: report.ok, workflows: report.workflows, statuses: report.files.map((file) => file.status) }))`
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], { cwd: pkg })
    expect(JSON.parse(stdout)).toEqual({ ok: true, workflows: ['billing.workflow', 'greet', 'nodes', 'orders.refund', 'place-order', 'uses-models'], statuses: ['ok', 'ok', 'ok', 'ok', 'ok', 'empty', 'empty', 'empty', 'ok'] })
  })

  it('serves and runs a workflow with its compiled server and execution worker', async () => {
    expect(existsSync(join(pkg, 'dist', 'workers', 'execution', 'worker.js'))).toBe(true)
    // Registered workflows of built-in nodes run in the compiled execution worker; discovery off.
    const script = `
      const { Nexus, WorkflowBuilder } = await import(${JSON.stringify(join(pkg, 'dist', 'src', 'index.js'))})
      const app = new Nexus({ apiPort: 0, autoDiscovery: false, workers: 1, logger: { info() {}, warn() {} } })
      app.register('double', new WorkflowBuilder().addNode('Function', 'f', { code: '({ n }) => ({ twice: n * 2 })', n: '\${n}' }))
      await app.start()
      await app.ready()
      const response = await fetch(app.url + '/workflows/double/execute', { method: 'POST', body: JSON.stringify({ inputs: { n: 21 } }) })
      console.log(JSON.stringify({ status: response.status, body: await response.json() }))
      await app.close()`
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], { cwd: pkg })
    expect(JSON.parse(stdout)).toMatchObject({ status: 200, body: { outputs: { f: { twice: 42 } } } })
  })

  it('keeps an Idempotency-Key and an async run in the embedded store, written by its compiled writer thread', async () => {
    expect(existsSync(join(pkg, 'dist', 'workers', 'store', 'writer.js'))).toBe(true)
    const root = mkdtempSync(join(tmpdir(), 'nexflow-built-store-'))
    try {
      const script = `
        const { Nexus, WorkflowBuilder } = await import(${JSON.stringify(join(pkg, 'dist', 'src', 'index.js'))})
        const app = new Nexus({ apiPort: 0, root: ${JSON.stringify(root)}, autoDiscovery: false, workers: 1, logger: { info() {}, warn() {} } })
        app.register('double', new WorkflowBuilder().addNode('Function', 'f', { code: '({ n }) => ({ twice: n * 2 })', n: '\${n}' }))
        await app.start()
        await app.ready()
        const post = (body, headers = {}) => fetch(app.url + '/workflows/double/execute', { method: 'POST', headers, body: JSON.stringify(body) })
        const first = await post({ inputs: { n: 2 } }, { 'idempotency-key': 'k-1' })
        const again = await post({ inputs: { n: 2 } }, { 'idempotency-key': 'k-1' })
        const accepted = await (await post({ inputs: { n: 5 }, mode: 'async' })).json()
        let run
        do run = await (await fetch(app.url + '/workflows/double/status/' + accepted.execution_id)).json()
        while (run.status === 'pending' || run.status === 'running')
        console.log(JSON.stringify({ first: first.status, replayed: again.headers.get('idempotent-replayed'), run: { status: run.status, outputs: run.outputs } }))
        await app.close()`
      const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], { cwd: pkg })
      expect(JSON.parse(stdout)).toEqual({ first: 200, replayed: 'true', run: { status: 'completed', outputs: { f: { twice: 10 } } } })
    } finally {
      rmSync(root, { recursive: true, force: true })
    }
  })

  it('its nexflow binary runs a workflow --local and, against a live server, lists and runs', { timeout: 90_000 }, async () => {
    const bin = join(pkg, 'bin', 'nexflow.mjs')
    const local = await run(process.execPath, [bin, 'run', '--local', 'greet', '--root', join(FIXTURES, 'cli-run', 'app'), '--no-cache', '--param', 'name=Ada', '--param', 'times=2'], { cwd: pkg })
    expect(JSON.parse(local.stdout)).toMatchObject({ outputs: { greet: { text: 'hello Adahello Ada', type: 'number' } }, workflow_id: 'greet' })
    const script = `
      const { Nexus, WorkflowBuilder } = await import(${JSON.stringify(join(pkg, 'dist', 'src', 'index.js'))})
      const { execFile } = await import('node:child_process')
      const { promisify } = await import('node:util')
      const app = new Nexus({ apiPort: 0, autoDiscovery: false, workers: 1, logger: { info() {}, warn() {} } })
      app.register('double', new WorkflowBuilder().addNode('Function', 'f', { code: '({ n }) => ({ twice: n * 2 })', n: '\${n}' }))
      await app.start()
      // Not execFileSync: the server answering the CLI lives on this process's event loop.
      const cli = async (...args) => JSON.parse((await promisify(execFile)(process.execPath, [${JSON.stringify(bin)}, ...args, '--url', app.url])).stdout)
      console.log(JSON.stringify({ list: await cli('list'), run: await cli('run', 'double', '--param', 'n=21') }))
      await app.close()`
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], { cwd: pkg })
    const answers = JSON.parse(stdout) as { list: { workflows: { name: string }[] }; run: unknown }
    expect(answers.list.workflows.map((w) => w.name)).toEqual(['double'])
    expect(answers.run).toMatchObject({ outputs: { f: { twice: 42 } } })
  })
})

