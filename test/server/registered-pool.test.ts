// Registered workflows whose node types are not built in (a DataFlow's, the app's own defineNode
// types) run in the execution pool when a worker can import the files that define them; else on
// the main thread, with a warning that says why.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { isMainThread } from 'node:worker_threads'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { z } from 'zod'
import { DataFlow, defaultRegistry, defineNode, Nexus, WorkflowBuilder, type NexusLogger } from '../../src/index.js'
import { poolPlan } from '../../src/server/pool-plan.js'

const dir = mkdtempSync(join(tmpdir(), 'nexflow-registered-'))
process.env.NEXFLOW_TEST_REGISTERED_DB = join(dir, 'app.db')
const { db, Note } = await import('../../fixtures/server/registered/models.js')
await import('../../fixtures/server/registered/nodes.js')

// Defined in this test file, which a worker cannot import (it needs vitest's runner).
const Here = defineNode({ type: 'RegisteredHere', params: z.object({ text: z.string() }), run: ({ text }) => ({ text, isMainThread }) })
defaultRegistry().register(Here, { replace: true })
// A model of an in-memory database: another thread's database of that name would be empty.
const memory = new DataFlow({ databaseUrl: ':memory:' })
memory.model('RegisteredScratch', { id: z.string() })

const warnings: string[] = []
const logger: NexusLogger = { info: () => {}, warn: (message) => warnings.push(message) }
let app: Nexus
let url: string

// Answers are read loosely: each test asserts the shape it cares about.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = Record<string, any>

async function post(name: string, inputs: Record<string, unknown>): Promise<{ status: number; json: Json }> {
  const response = await fetch(`${url}/workflows/${name}/execute`, { method: 'POST', body: JSON.stringify({ inputs }) })
  return { status: response.status, json: (await response.json()) as Json }
}

beforeAll(async () => {
  app = new Nexus({ apiPort: 0, autoDiscovery: false, workers: 2, logger })
  app.register('add_note', new WorkflowBuilder().addNode(`${Note.name}CreateNode`, 'note', { id: '${id}', text: '${text}' }).addNode('RegisteredWhere', 'where', { label: '${id}' }))
  app.register('here', new WorkflowBuilder().addNode('RegisteredHere', 'here', { text: '${text}' }))
  app.register('scratch', new WorkflowBuilder().addNode('RegisteredScratchCreateNode', 'row', { id: '${id}' }))
  await app.start()
  url = app.url as string
  await app.ready()
})

afterAll(async () => {
  await app?.close()
  await db.close()
  await memory.close()
  rmSync(dir, { recursive: true, force: true })
})

describe('registered workflows beyond the built-in nodes', () => {
  it('a DataFlow workflow whose models live in a module of their own runs in a worker, on the same database', async () => {
    const { status, json } = await post('add_note', { id: 'n1', text: 'from a worker' })
    expect(status, JSON.stringify(json)).toBe(200)
    expect(json.outputs.where).toMatchObject({ label: 'n1', isMainThread: false })
    expect(json.outputs.where.threadId).toBeGreaterThan(0)
    // Written by the worker's own DataFlow, read here by the app's: one database file.
    expect(await Note.read({ id: 'n1' })).toMatchObject({ id: 'n1', text: 'from a worker' })
    expect(warnings.filter((w) => w.includes('"add_note"'))).toEqual([])
    const listed = ((await (await fetch(`${url}/workflows`)).json()) as { workflows: { name: string; source: { runs_in: string } }[] }).workflows
    expect(Object.fromEntries(listed.map((w) => [w.name, w.source.runs_in]))).toMatchObject({ add_note: 'pool', here: 'main', scratch: 'main' })
  })

  it("a DataFlow node's own error still answers with its status from the worker (a taken id is 409)", async () => {
    const { status, json } = await post('add_note', { id: 'n1', text: 'again' })
    expect(status, JSON.stringify(json)).toBe(409)
  })

  it('a node type defined in a file a worker cannot import keeps its workflow on the main thread, and the warning names the file and the error', async () => {
    const { status, json } = await post('here', { text: 'hi' })
    expect(status).toBe(200)
    expect(json.outputs.here).toEqual({ text: 'hi', isMainThread: true })
    const warning = warnings.find((w) => w.includes('"here"'))
    expect(warning).toContain('RegisteredHere')
    expect(warning).toContain('could not import')
    expect(warning).toContain('registered-pool.test.ts')
  })

  it('a model of an in-memory database keeps its workflow on the main thread, saying why, at register', async () => {
    expect((await post('scratch', { id: 's1' })).status).toBe(200)
    expect(warnings.find((w) => w.includes('"scratch"'))).toMatch(/RegisteredScratchCreateNode: .*in-memory database/)
  })

  it('a workflow registered after start moves to the pool too', async () => {
    app.register('where_later', new WorkflowBuilder().addNode('RegisteredWhere', 'where', { label: '${label}' }))
    await expect
      .poll(async () => ((await post('where_later', { label: 'x' })).json.outputs as { where: { isMainThread: boolean } }).where.isMainThread, { timeout: 30_000 })
      .toBe(false)
  })
})

describe('poolPlan', () => {
  it("refuses a type defined in the app's entry file: a worker must not start the app again", () => {
    const entry = process.argv[1] as string
    const registry = defaultRegistry()
    const definition = { ...defineNode({ type: 'RegisteredEntry', params: z.object({}), run: () => ({}) }), module: entry }
    registry.register(definition, { replace: true })
    const plan = poolPlan({ name: 'w', description: '', nodes: [{ id: 'n', type: 'RegisteredEntry', config: {} }], connections: [], inputSchema: { type: 'object', properties: {} } } as never, registry)
    expect(plan).toMatchObject({ blocked: [{ type: 'RegisteredEntry', reason: expect.stringContaining("app's entry file") }] })
    registry.unregister('RegisteredEntry')
  })
})
