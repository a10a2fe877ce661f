// An async run in flight when the server closes gracefully: once shutdownTimeoutMs has passed
// it is stopped and recorded `interrupted`; a run still pending is kept and dispatched by the
// next start on the same root (embedded store).
import { afterAll, describe, expect, it } from 'vitest'
import { Nexus, type NexusLogger } from '../../src/index.js'
import { gate, post, pollStatus, request, tempRoot } from './durability-helpers.js'

const root = tempRoot()
const logger: NexusLogger = { info: () => {}, warn: () => {} }
const apps: Nexus[] = []

async function start(shutdownTimeoutMs = 300): Promise<string> {
  const app = new Nexus({ apiPort: 0, root: root.path, autoDiscovery: false, workers: 1, runTimeoutMs: 20_000, shutdownTimeoutMs, logger, durability: { concurrency: 1 } })
  apps.push(app)
  app.register('gate', gate)
  await app.start()
  await app.ready()
  return app.url as string
}

afterAll(async () => {
  for (const app of apps) await app.close()
  root.remove()
})

describe('async runs across a graceful restart (embedded store)', () => {
  it('the running run is interrupted at close; the pending one runs after the next start', async () => {
    const url = await start()
    const running = await post(url, 'gate', { inputs: { path: root.file('never') }, mode: 'async' })
    const pending = await post(url, 'gate', { inputs: { path: root.file('later') }, mode: 'async' })
    await pollStatus(url, 'gate', running.json.execution_id as string, (status) => status === 'running')
    expect((await request(`${url}/workflows/gate/status/${pending.json.execution_id as string}`)).json.status).toBe('pending')
    await apps[0]?.close()

    const next = await start()
    const interrupted = await pollStatus(next, 'gate', running.json.execution_id as string, (status) => status !== 'running')
    expect(interrupted).toMatchObject({ status: 'interrupted', error: { code: 'RUN_INTERRUPTED' } })
    await pollStatus(next, 'gate', pending.json.execution_id as string, (status) => status === 'running')
    root.open('later')
    expect((await pollStatus(next, 'gate', pending.json.execution_id as string, (status) => status === 'completed')).outputs).toEqual({ gate: { opened: root.file('later') } })
  })
})

describe('a keyed sync request in flight when the server closes gracefully (embedded store)', () => {
  it('finishes and is answered; its key is stored and replays after the next start', async () => {
    const url = await start(20_000)
    const closing = apps.at(-1) as Nexus
    const key = 'shutdown-key-1'
    const body = { inputs: { path: root.file('keyed') } }
    const answer = post(url, 'gate', body, { 'idempotency-key': key })
    await expect.poll(async () => ((await request(`${url}/health`)).json as { runs_in_flight?: number }).runs_in_flight, { timeout: 20_000, interval: 20 }).toBe(1)
    const closed = closing.close()
    root.open('keyed')
    const first = await answer
    expect(first.status, JSON.stringify(first.json)).toBe(200)
    await closed

    const next = await start()
    const replayed = await post(next, 'gate', body, { 'idempotency-key': key })
    expect(replayed.status).toBe(200)
    expect(replayed.headers.get('idempotent-replayed')).toBe('true')
    expect(replayed.json).toEqual(first.json)
  })
})
