import { renameSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Nexus, type NexusLogger, type ServerEvent } from '../../src/index.js'
import { REPO, tempProject } from '../discovery/helpers.js'

const BUILDER = JSON.stringify(join(REPO, 'src', 'workflow', 'builder.ts'))

/** A workflow file whose one Function node answers `{ v }`, after spinning `ms` when asked. */
const versioned = (name: string, v: string, extra = '') => `import { WorkflowBuilder } from ${BUILDER}
${extra}
export const workflow = new WorkflowBuilder()
  .addNode('Function', 'f', { code: '({ ms }) => { const end = Date.now() + (ms ?? 0); while (Date.now() < end) {} return { v: ${JSON.stringify(v)} } }', ms: '\${ms}' })
  .build({ name: ${JSON.stringify(name)} })
`
const usesShared = (name: string) => `import { WorkflowBuilder } from ${BUILDER}
import { label } from '../lib/shared.js'
export const workflow = new WorkflowBuilder().addNode('Function', 'f', { code: '() => ({ label: ' + JSON.stringify(label) + ' })' }).build({ name: ${JSON.stringify(name)} })
`

const quiet: NexusLogger = { info: () => {}, warn: () => {} }

// Answers are read loosely: each test asserts the shape it cares about.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = Record<string, any>

describe('nexflow dev: hot reload that never drops a request', () => {
  const project = tempProject({
    'package.json': '{ "type": "module" }',
    'workflows/hello.ts': versioned('hello', 'v1'),
    'workflows/bye.ts': versioned('bye', 'b1'),
    'lib/shared.ts': "export const label = 'one'\n",
    'workflows/first.ts': usesShared('first'),
    'workflows/second.ts': usesShared('second'),
    'notes.db': '',
    'workflows/fails.ts': `import { WorkflowBuilder } from ${BUILDER}
export const workflow = new WorkflowBuilder().addNode('Function', 'boom', { code: '() => { throw new RangeError("out of range") }' }).build({ name: 'fails' })
`,
  })
  let app: Nexus
  let url: string
  const events: ServerEvent[] = []

  /** Resolves with the next reload-finished event after `change` ran. */
  async function afterReload(change: () => void): Promise<Extract<ServerEvent, { type: 'reload-finished' }>> {
    const finished = new Promise<Extract<ServerEvent, { type: 'reload-finished' }>>((resolve) => {
      const off = app.onEvent((event) => {
        if (event.type !== 'reload-finished') return
        off()
        resolve(event)
      })
    })
    change()
    return finished
  }

  async function run(name: string, inputs: Record<string, unknown> = { ms: 0 }): Promise<{ status: number; body: Json }> {
    const response = await fetch(`${url}/workflows/${name}/execute`, { method: 'POST', body: JSON.stringify({ inputs }) })
    return { status: response.status, body: (await response.json()) as Json }
  }

  beforeAll(async () => {
    app = new Nexus({ apiPort: 0, root: project.root, dev: true, workers: 1, autoDiscovery: { timeoutMs: 5000 }, logger: quiet })
    app.onEvent((event) => events.push(event))
    await app.start()
    url = app.url as string
    await app.ready()
  })
  afterAll(async () => {
    await app?.close()
    project.remove()
  })

  it('a changed workflow serves its new behaviour', async () => {
    expect((await run('hello')).body.outputs.f.v).toBe('v1')
    const reload = await afterReload(() => project.write('workflows/hello.ts', versioned('hello', 'v2')))
    expect(reload.reimported).toEqual(['workflows/hello.ts'])
    expect((await run('hello')).body.outputs.f.v).toBe('v2')
  })

  it('a run in flight during a reload finishes on the old version; the next one runs the new', async () => {
    const inFlight = run('hello', { ms: 1500 })
    await expect.poll(async () => ((await (await fetch(`${url}/health`)).json()) as { runs_in_flight: number }).runs_in_flight, { timeout: 10_000 }).toBe(1)
    await afterReload(() => project.write('workflows/hello.ts', versioned('hello', 'v3')))
    expect((await run('hello')).body.outputs.f.v).toBe('v3')
    expect((await inFlight).body.outputs.f.v).toBe('v2')
  })

  it('a file that breaks keeps its last good version serving, marked stale, and recovers when fixed', async () => {
    const broken = await afterReload(() => project.write('workflows/bye.ts', `${versioned('bye', 'b2')}\nthrow new Error('half-written')\n`))
    expect(broken.failed).toContain('workflows/bye.ts')
    expect((await run('bye')).body.outputs.f.v).toBe('b1')
    const listed = (await (await fetch(`${url}/workflows`)).json()) as { workflows: { name: string; stale?: boolean; stale_reason?: string }[] }
    expect(listed.workflows.find((w) => w.name === 'bye')).toMatchObject({ stale: true, stale_reason: expect.stringContaining('half-written') })
    const discovery = (await (await fetch(`${url}/discovery`)).json()) as { stale?: { workflow: string; error: string }[]; files: { path: string; status: string }[] }
    expect(discovery.files.find((f) => f.path === 'workflows/bye.ts')?.status).toBe('error')
    expect(discovery.stale?.[0]).toMatchObject({ workflow: 'bye', error: expect.stringContaining('half-written') })
    await afterReload(() => project.write('workflows/bye.ts', versioned('bye', 'b3')))
    expect((await run('bye')).body.outputs.f.v).toBe('b3')
    const after = (await (await fetch(`${url}/workflows`)).json()) as { workflows: { name: string; stale?: boolean }[] }
    expect(after.workflows.find((w) => w.name === 'bye')?.stale).toBeUndefined()
  })

  it('editing a shared module reloads every workflow that imports it', async () => {
    expect((await run('first', {})).body.outputs.f.label).toBe('one')
    const reload = await afterReload(() => project.write('lib/shared.ts', "export const label = 'two'\n"))
    expect(reload.reimported.sort()).toEqual(['workflows/first.ts', 'workflows/second.ts'])
    expect((await run('first', {})).body.outputs.f.label).toBe('two')
    expect((await run('second', {})).body.outputs.f.label).toBe('two')
  })

  it('a new file is served; a deleted file returns 404', async () => {
    await afterReload(() => project.write('workflows/new.ts', versioned('brand-new', 'n1')))
    expect((await run('brand-new')).body.outputs.f.v).toBe('n1')
    const reload = await afterReload(() => rmSync(join(project.root, 'workflows/new.ts')))
    expect(reload.removed).toEqual(['workflows/new.ts'])
    expect((await run('brand-new')).status).toBe(404)
  })

  it('an atomic-rename save and a burst of 10 saves each end in one correct reload', async () => {
    let started = events.filter((e) => e.type === 'reload-started').length
    await afterReload(() => {
      const temp = join(project.root, 'workflows/.hello.ts.swp')
      writeFileSync(temp, versioned('hello', 'atomic'))
      renameSync(temp, join(project.root, 'workflows/hello.ts'))
    })
    expect((await run('hello')).body.outputs.f.v).toBe('atomic')
    expect(events.filter((e) => e.type === 'reload-started').length - started).toBe(1)

    started = events.filter((e) => e.type === 'reload-started').length
    await afterReload(() => {
      for (let i = 1; i <= 10; i++) project.write('workflows/hello.ts', versioned('hello', `burst-${i}`))
    })
    expect((await run('hello')).body.outputs.f.v).toBe('burst-10')
    expect(events.filter((e) => e.type === 'reload-started').length - started).toBe(1)
  })

  it('a database or log file changing in the project wakes no reload', async () => {
    const before = events.filter((e) => e.type === 'reload-started').length
    writeFileSync(join(project.root, 'notes.db'), 'x'.repeat(100))
    // A code change after it is the one reload that follows; the .db write before it added none.
    await afterReload(() => project.write('workflows/bye.ts', versioned('bye', 'b4')))
    expect(events.filter((e) => e.type === 'reload-started').length - before).toBe(1)
  })

  it('/events streams server-sent events: the reload starting, each re-imported file starting and settling, the reload finishing', async () => {
    const controller = new AbortController()
    const response = await fetch(`${url}/events`, { signal: controller.signal })
    expect(response.headers.get('content-type')).toContain('text/event-stream')
    const reader = (response.body as ReadableStream<Uint8Array>).pipeThrough(new TextDecoderStream()).getReader()
    let text = ''
    const until = async (pattern: RegExp) => {
      while (!pattern.test(text)) {
        const { value, done } = await reader.read()
        if (done) throw new Error(`the event stream ended before ${String(pattern)}; it said:\n${text}`)
        text += value
      }
    }
    await until(/event: hello/)
    project.write('workflows/hello.ts', versioned('hello', 'streamed'))
    await until(/event: reload-finished/)
    controller.abort()
    const names = [...text.matchAll(/^event: (.+)$/gm)].map((m) => m[1])
    expect(names.slice(names.indexOf('reload-started'))).toEqual(['reload-started', 'file-started', 'file', 'reload-finished'])
    expect(text).toMatch(/"path":"workflows\/hello.ts","status":"ok"/)
  })

  it('in development, an error answer carries the failing node and its stack', async () => {
    const { status, body } = await run('fails', {})
    expect(status).toBe(500)
    expect(body.error.message).toContain('Node "boom"')
    expect(body.error.details.stack).toMatch(/out of range[\s\S]*\n\s+at /)
  })

  it('old generations are closed once nothing needs them', async () => {
    const health = (await (await fetch(`${url}/health`)).json()) as { pool: { generations: number; generation: number } }
    expect(health.pool.generation).toBeGreaterThan(1)
    await expect.poll(async () => ((await (await fetch(`${url}/health`)).json()) as { pool: { generations: number } }).pool.generations, { timeout: 10_000 }).toBe(1)
  })
})
