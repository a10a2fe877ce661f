// Durability of `nexflow start` child processes: an Idempotency-Key replays after a restart, a
// run in flight when the process is SIGKILLed is reported `interrupted` (and a pending one
// completes through the queue) after the restart, never `pending` forever; with PostgreSQL, two
// processes share runs and keys. Each scenario runs in a temporary root that re-exports the
// `fixtures/server/durability` workflows, with its own config file.
import { randomUUID } from 'node:crypto'
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import { COMMON_FLAGS, dropDurabilitySchemas, getJson, killAll, REPO, SERVER_FIXTURES, SLOW_MS, startNexflow, tempDir, WAIT_MS, waitForReady, waitUntil, type Json, type NexflowProcess } from './server-helpers.js'

const POSTGRES_URL = process.env.NEXFLOW_TEST_POSTGRES_URL
if (POSTGRES_URL === undefined) console.warn('durability.test.ts: PostgreSQL cases skipped: set NEXFLOW_TEST_POSTGRES_URL to run them')

const running: NexflowProcess[] = []
const roots: { remove(): void }[] = []
const schemas: string[] = []

afterEach(async () => {
  await Promise.all(running.splice(0).map((server) => server.stop()))
}, SLOW_MS)
afterAll(async () => {
  await killAll()
  for (const root of roots) root.remove()
  await dropDurabilitySchemas(POSTGRES_URL, schemas)
}, SLOW_MS)

/** A root serving `gate` and `echo`, with `config` as its nexflow.config.json. */
function makeRoot(config: Record<string, unknown>): { path: string; file(name: string): string; open(name: string): void } {
  const root = tempDir('nexflow-durability-e2e-')
  roots.push(root)
  mkdirSync(join(root.path, 'workflows'))
  for (const name of ['gate', 'echo']) {
    const target = pathToFileURL(join(SERVER_FIXTURES, 'durability', 'workflows', `${name}.js`)).href
    writeFileSync(join(root.path, 'workflows', `${name}.ts`), `export { workflow } from ${JSON.stringify(target)}\n`)
  }
  // Discovery's per-file deadline (10 s by default) is raised to the bound of every other wait:
  // two instances importing at once on a busy machine once timed a file out, and /ready still
  // turned 200 with nothing served.
  writeFileSync(join(root.path, 'nexflow.config.json'), JSON.stringify({ autoDiscovery: { timeoutMs: WAIT_MS }, ...config }))
  return { path: root.path, file: (name) => join(root.path, name), open: (name) => writeFileSync(join(root.path, name), 'open') }
}

async function start(root: string): Promise<{ server: NexflowProcess; url: string }> {
  const server = startNexflow([root, ...COMMON_FLAGS, '--workers', '2'], { cwd: REPO, env: { NEXFLOW_DURABILITY_URL: undefined } })
  running.push(server)
  const url = await server.listening()
  await waitForReady(url)
  return { server, url }
}

async function post(url: string, name: string, body: unknown, key?: string): Promise<{ status: number; json: Json; replayed: boolean }> {
  const response = await fetch(`${url}/workflows/${name}/execute`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(key === undefined ? {} : { 'idempotency-key': key }) },
    body: JSON.stringify(body),
  })
  return { status: response.status, json: (await response.json()) as Json, replayed: response.headers.get('idempotent-replayed') === 'true' }
}

function statusOf(url: string, name: string, id: string, wanted: (status: string) => boolean): Promise<Json> {
  return waitUntil(`run ${id} to reach the wanted status`, async () => {
    const { json } = await getJson(`${url}/workflows/${name}/status/${id}`)
    return typeof json.status === 'string' && wanted(json.status) ? json : undefined
  })
}

describe('durability: embedded SQLite', { timeout: SLOW_MS * 2 }, () => {
  it('a key replays after a restart; a run SIGKILLed mid-way is interrupted; a pending one completes through the queue after the restart', async () => {
    // One async run at a time: the second stays pending while the first holds the only slot.
    const root = makeRoot({ durability: { concurrency: 1 } })
    const first = await start(root.path)
    const key = randomUUID()
    const answer = await post(first.url, 'echo', { inputs: { value: 'kept' } }, key)
    expect(answer.status).toBe(200)

    const held = await post(first.url, 'gate', { inputs: { path: root.file('never') }, mode: 'async' })
    const waiting = await post(first.url, 'gate', { inputs: { path: root.file('later') }, mode: 'async' })
    expect([held.status, waiting.status]).toEqual([202, 202])
    await statusOf(first.url, 'gate', held.json.execution_id as string, (status) => status === 'running')
    expect((await getJson(`${first.url}/workflows/gate/status/${waiting.json.execution_id as string}`)).json.status).toBe('pending')
    first.server.kill()
    await first.server.exited

    const second = await start(root.path)
    const replay = await post(second.url, 'echo', { inputs: { value: 'kept' } }, key)
    expect(replay).toEqual({ status: 200, json: answer.json, replayed: true })
    const interrupted = await statusOf(second.url, 'gate', held.json.execution_id as string, (status) => status !== 'running' && status !== 'pending')
    expect(interrupted).toMatchObject({ status: 'interrupted', finished_at: expect.any(String) })
    // The pending run was dispatched again at start: it runs, and completes once released.
    await statusOf(second.url, 'gate', waiting.json.execution_id as string, (status) => status === 'running')
    root.open('later')
    const completed = await statusOf(second.url, 'gate', waiting.json.execution_id as string, (status) => status === 'completed')
    expect(completed.outputs).toEqual({ gate: { opened: root.file('later') } })
  })
})

describe.skipIf(POSTGRES_URL === undefined)('durability: PostgreSQL and pg-boss', { timeout: SLOW_MS * 2 }, () => {
  function pgRoot(): ReturnType<typeof makeRoot> {
    const schema = `nx_e2e_${randomUUID().slice(0, 8)}`
    schemas.push(schema)
    // A short run deadline keeps the job expiry (deadline + queue wait + 5 s) short for the SIGKILL case.
    return makeRoot({ runTimeoutMs: 8000, queueTimeoutMs: 2000, durability: { databaseUrl: POSTGRES_URL, schema, maintenanceIntervalSeconds: 1 } })
  }

  it('two processes share runs and keys: a run accepted by one is polled on the other; a key replays on the other', async () => {
    const root = pgRoot()
    const [a, b] = await Promise.all([start(root.path), start(root.path)])
    const accepted = await post(a.url, 'gate', { inputs: { path: root.file('open') }, mode: 'async' })
    expect(accepted.status).toBe(202)
    const id = accepted.json.execution_id as string
    await statusOf(b.url, 'gate', id, (status) => status === 'running')
    root.open('open')
    const done = await statusOf(b.url, 'gate', id, (status) => status === 'completed')
    expect(done.outputs).toEqual({ gate: { opened: root.file('open') } })
    expect((await getJson(`${a.url}/workflows/gate/status/${id}`)).json).toEqual(done)

    const key = randomUUID()
    const first = await post(a.url, 'echo', { inputs: { value: 42 } }, key)
    expect(first.status).toBe(200)
    expect(await post(b.url, 'echo', { inputs: { value: 42 } }, key)).toEqual({ status: 200, json: first.json, replayed: true })
    expect((await post(b.url, 'echo', { inputs: { value: 43 } }, key)).status).toBe(422)

    // A cancel through one instance stops the run wherever it runs.
    const held = await post(b.url, 'gate', { inputs: { path: root.file('never') }, mode: 'async' })
    const heldId = held.json.execution_id as string
    await statusOf(a.url, 'gate', heldId, (status) => status === 'running')
    const cancelled = await fetch(`${a.url}/workflows/gate/status/${heldId}`, { method: 'DELETE' })
    expect(cancelled.status).toBe(200)
    expect(((await cancelled.json()) as Json).status).toBe('cancelled')
  })

  it('a process SIGKILLed during an async run: after a restart, the queue expires its job and the run is interrupted, never pending; keys made before replay', async () => {
    const root = pgRoot()
    const first = await start(root.path)
    const key = randomUUID()
    const answer = await post(first.url, 'echo', { inputs: { value: 'before' } }, key)
    const held = await post(first.url, 'gate', { inputs: { path: root.file('never') }, mode: 'async' })
    const id = held.json.execution_id as string
    await statusOf(first.url, 'gate', id, (status) => status === 'running')
    first.server.kill()
    await first.server.exited

    const second = await start(root.path)
    expect(await post(second.url, 'echo', { inputs: { value: 'before' } }, key)).toEqual({ status: 200, json: answer.json, replayed: true })
    const ended = await statusOf(second.url, 'gate', id, (status) => status !== 'running' && status !== 'pending')
    expect(ended).toMatchObject({ status: 'interrupted', error: { code: 'RUN_INTERRUPTED' } })
  })
})
