import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Nexus, WorkflowBuilder } from '../../src/index.js'

// One worker, so a second run waits for the first: the deadlines of waiting and running apart.
const busy = new WorkflowBuilder().addNode('Function', 'spin', { code: '({ ms }) => { const end = Date.now() + ms; while (Date.now() < end) {} return { spun: ms } }', ms: '${ms}' })
const forever = new WorkflowBuilder().addNode('Function', 'loop', { code: '() => { for (;;) {} }' })
const greet = new WorkflowBuilder().addNode('Function', 'f', { code: '({ name }) => ({ text: `hello ${name}` })', name: '${name}' })

const RUN_TIMEOUT_MS = 3000
const QUEUE_TIMEOUT_MS = 2600

let app: Nexus
let url: string

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = Record<string, any>

async function post(name: string, inputs: Record<string, unknown>): Promise<{ status: number; json: Json }> {
  const response = await fetch(`${url}/workflows/${name}/execute`, { method: 'POST', body: JSON.stringify({ inputs }) })
  return { status: response.status, json: (await response.json()) as Json }
}

/** Resolves once the one worker has a run on it. */
async function workerBusy(): Promise<void> {
  await expect.poll(async () => ((await (await fetch(`${url}/health`)).json()) as { pool: { busy: number } }).pool.busy, { timeout: 10_000, interval: 5 }).toBe(1)
}

beforeAll(async () => {
  app = new Nexus({ apiPort: 0, autoDiscovery: false, workers: 1, runTimeoutMs: RUN_TIMEOUT_MS, queueTimeoutMs: QUEUE_TIMEOUT_MS, logger: { info: () => {}, warn: () => {} } })
  for (const [name, builder] of Object.entries({ busy, greet })) app.register(name, builder)
  await app.start()
  url = app.url as string
  await app.ready()
  // Boots the worker: a booting thread counts as busy, and the tests wait for "busy" to mean "running".
  expect((await post('greet', { name: 'warm' })).status).toBe(200)
})

afterAll(async () => {
  await app?.close()
})

describe('the execution queue', () => {
  it("a run's deadline counts from when a worker begins it, not from when it was queued", async () => {
    // Each spins 2 s, under the 3 s run deadline; the second waits about 2 s (under the 2.6 s queue
    // bound) and so ends about 4 s after it was sent: a deadline counted from the request would have stopped it.
    const first = post('busy', { ms: 2000 })
    await workerBusy()
    const sent = Date.now()
    const second = await post('busy', { ms: 2000 })
    expect(Date.now() - sent).toBeGreaterThan(RUN_TIMEOUT_MS)
    expect(second).toMatchObject({ status: 200, json: { outputs: { spin: { spun: 2000 } } } })
    expect((await first).status).toBe(200)
  })

  it('a run that finds no free worker within queueTimeoutMs is 504 saying it never started, and the next run is served', async () => {
    // Its own server, whose run deadline is far beyond its queue bound: the queued run must give up
    // before the stuck one is stopped, however late a loaded machine delivers the second request.
    const queueMs = 2000
    const runMs = 10_000
    const strict = new Nexus({ apiPort: 0, autoDiscovery: false, workers: 1, runTimeoutMs: runMs, queueTimeoutMs: queueMs, logger: { info: () => {}, warn: () => {} } })
    for (const [name, builder] of Object.entries({ forever, greet })) strict.register(name, builder)
    await strict.start()
    const base = url
    url = strict.url as string
    try {
      await strict.ready()
      // Boots the worker; on a loaded machine booting may take longer than the queue bound (a 504 here).
      await expect.poll(async () => (await post('greet', { name: 'warm' })).status, { timeout: 30_000, interval: 10 }).toBe(200)
      const stuck = post('forever', {})
      await workerBusy()
      const waiting = await post('greet', { name: 'queued' })
      expect(waiting.status).toBe(504)
      expect(waiting.json.error).toMatchObject({ code: 'RUN_TIMEOUT', details: { queueTimeoutMs: queueMs } })
      expect(waiting.json.error.message).toMatch(/no execution worker was free.*never started/)
      // The run on the worker is stopped at its own deadline, after the queued one gave up.
      expect((await stuck).json.error).toMatchObject({ code: 'RUN_TIMEOUT', details: { timeoutMs: runMs } })
      expect((await post('greet', { name: 'after' })).status).toBe(200)
    } finally {
      url = base
      await strict.close()
    }
  }, 60_000)
})
