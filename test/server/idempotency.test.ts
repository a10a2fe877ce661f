// Idempotency-Key over real HTTP, in-process, against the embedded SQLite store and (with
// NEXFLOW_TEST_POSTGRES_URL) PostgreSQL: replay with the same status and body, 422 for another
// body, 409 while the first request runs, 5xx not stored, hostile keys refused, and a replay after
// the server restarted.
import { randomUUID } from 'node:crypto'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Nexus, type NexusLogger, type NexusOptions } from '../../src/index.js'
import { broken, echo, gate, post, pollStatus, tempRoot } from './durability-helpers.js'

const POSTGRES_URL = process.env.NEXFLOW_TEST_POSTGRES_URL
if (POSTGRES_URL === undefined) console.warn('idempotency.test.ts: PostgreSQL cases skipped: set NEXFLOW_TEST_POSTGRES_URL to run them')

const logger: NexusLogger = { info: () => {}, warn: () => {} }
/** A schema of its own per run of this file: parallel test files never share rows. */
const SCHEMA = `nx_idem_${randomUUID().slice(0, 8)}`

const targets: { name: string; durability: () => NexusOptions['durability']; skip: boolean }[] = [
  { name: 'SQLite', durability: () => ({}), skip: false },
  { name: 'PostgreSQL', durability: () => ({ databaseUrl: POSTGRES_URL, schema: SCHEMA }), skip: POSTGRES_URL === undefined },
]

afterAll(async () => {
  if (POSTGRES_URL === undefined) return
  const client = new pg.Client({ connectionString: POSTGRES_URL })
  await client.connect()
  await client.query(`DROP SCHEMA IF EXISTS ${SCHEMA} CASCADE`)
  await client.query(`DROP SCHEMA IF EXISTS ${SCHEMA}_boss CASCADE`)
  await client.end()
})

describe.each(targets)('Idempotency-Key ($name)', ({ durability, skip }) => {
  const root = tempRoot()
  let app: Nexus
  let url: string

  async function start(): Promise<void> {
    app = new Nexus({ apiPort: 0, root: root.path, autoDiscovery: false, workers: 2, runTimeoutMs: 20_000, logger, durability: durability() })
    app.register('gate', gate)
    app.register('echo', echo)
    app.register('broken', broken)
    await app.start()
    url = app.url as string
    await app.ready()
  }

  beforeAll(async () => {
    if (!skip) await start()
  })
  afterAll(async () => {
    await app?.close()
    root.remove()
  })

  it.skipIf(skip)('the same key and body replays the stored answer with Idempotent-Replayed: true; the run does not run again', async () => {
    const key = randomUUID()
    const first = await post(url, 'echo', { inputs: { value: { a: 1, b: [1, 2] } } }, { 'idempotency-key': key })
    expect(first.status).toBe(200)
    expect(first.headers.get('idempotent-replayed')).toBeNull()
    // Same inputs, keys in another order, under the `parameters` alias: the same request.
    const second = await post(url, 'echo', { parameters: { value: { b: [1, 2], a: 1 } } }, { 'idempotency-key': key })
    expect(second.status).toBe(200)
    expect(second.headers.get('idempotent-replayed')).toBe('true')
    expect(second.json).toEqual(first.json)
    // Each answer carries its own request's id, a replay too.
    expect([first.headers.get('x-request-id'), second.headers.get('x-request-id')]).toEqual([expect.stringMatching(/^[0-9a-f-]{36}$/), expect.stringMatching(/^[0-9a-f-]{36}$/)])
    expect(second.headers.get('x-request-id')).not.toBe(first.headers.get('x-request-id'))
  })

  it.skipIf(skip)('the same key with another body, or on another workflow, is 422', async () => {
    const key = randomUUID()
    expect((await post(url, 'echo', { inputs: { value: 1 } }, { 'idempotency-key': key })).status).toBe(200)
    const other = await post(url, 'echo', { inputs: { value: 2 } }, { 'idempotency-key': key })
    expect(other.status).toBe(422)
    expect(other.json.error.code).toBe('IDEMPOTENCY_MISMATCH')
    expect((await post(url, 'gate', { inputs: { value: 1 } }, { 'idempotency-key': key })).status).toBe(422)
  })

  it.skipIf(skip)('a key whose first request is still running is 409; once it has finished, it replays', async () => {
    const key = randomUUID()
    const name = `open-${key}`
    const first = post(url, 'gate', { inputs: { path: root.file(name) } }, { 'idempotency-key': key })
    // The first request holds the key once a second one conflicts.
    await expect.poll(async () => (await post(url, 'gate', { inputs: { path: root.file(name) } }, { 'idempotency-key': key })).status, { timeout: 20_000, interval: 50 }).toBe(409)
    root.open(name)
    expect((await first).status).toBe(200)
    const replay = await post(url, 'gate', { inputs: { path: root.file(name) } }, { 'idempotency-key': key })
    expect(replay.status).toBe(200)
    expect(replay.headers.get('idempotent-replayed')).toBe('true')
  })

  it.skipIf(skip)('a failed run (5xx) is not stored: the retry runs again', async () => {
    const key = randomUUID()
    const first = await post(url, 'broken', {}, { 'idempotency-key': key })
    expect(first.status).toBe(500)
    const retry = await post(url, 'broken', {}, { 'idempotency-key': key })
    expect(retry.status).toBe(500)
    expect(retry.headers.get('idempotent-replayed')).toBeNull()
    expect(retry.json.error.details.run_id).not.toBe(first.json.error.details.run_id)
  })

  it.skipIf(skip)('an async request with a key replays its 202 and the same execution_id', async () => {
    const key = randomUUID()
    const first = await post(url, 'echo', { inputs: { value: 'later' }, mode: 'async' }, { 'idempotency-key': key })
    expect(first.status).toBe(202)
    const again = await post(url, 'echo', { inputs: { value: 'later' }, mode: 'async' }, { 'idempotency-key': key })
    expect(again.status).toBe(202)
    expect(again.headers.get('idempotent-replayed')).toBe('true')
    expect(again.json.execution_id).toBe(first.json.execution_id)
    const done = await pollStatus(url, 'echo', first.json.execution_id as string, (status) => status === 'completed')
    expect(done.outputs).toEqual({ echo: { value: 'later' } })
  })

  it.skipIf(skip)('an over-long, empty-looking or non-printable key is 400 naming the problem, before anything runs', async () => {
    const long = await post(url, 'echo', {}, { 'idempotency-key': 'k'.repeat(256) })
    expect(long.status).toBe(400)
    expect(long.json.error).toMatchObject({ code: 'IDEMPOTENCY_KEY_INVALID', message: expect.stringContaining('255') })
    const control = await post(url, 'echo', {}, { 'idempotency-key': 'a\tb' })
    expect(control.status).toBe(400)
    expect(control.json.error.code).toBe('IDEMPOTENCY_KEY_INVALID')
    // A key made of quotes and SQL is only a string: it works as any key.
    const sql = await post(url, 'echo', { inputs: { value: 1 } }, { 'idempotency-key': `x'); DROP TABLE nexflow_runs; --` })
    expect(sql.status).toBe(200)
  })

  it.skipIf(skip)('a key with mode "stream" is 400: a stream is not stored to replay', async () => {
    const answer = await post(url, 'echo', { inputs: { value: 1 }, mode: 'stream' }, { 'idempotency-key': randomUUID() })
    expect(answer.status).toBe(400)
    expect(answer.json.error).toMatchObject({ code: 'REQUEST_INVALID', message: expect.stringContaining('stream') })
  })

  it.skipIf(skip)('a key replays after the server restarted', async () => {
    const key = randomUUID()
    const first = await post(url, 'echo', { inputs: { value: 'kept' } }, { 'idempotency-key': key })
    expect(first.status).toBe(200)
    await app.close()
    await start()
    const replay = await post(url, 'echo', { inputs: { value: 'kept' } }, { 'idempotency-key': key })
    expect(replay.status).toBe(200)
    expect(replay.headers.get('idempotent-replayed')).toBe('true')
    expect(replay.json).toEqual(first.json)
  })
})

describe('Idempotency-Key with auth', () => {
  const root = tempRoot()
  const keys = ['a'.repeat(32), 'b'.repeat(32)]
  let app: Nexus
  let url: string
  beforeAll(async () => {
    app = new Nexus({ apiPort: 0, root: root.path, autoDiscovery: false, workers: 1, logger, auth: { apiKeys: keys } })
    app.register('echo', echo)
    await app.start()
    url = app.url as string
  })
  afterAll(async () => {
    await app?.close()
    root.remove()
  })

  it("is scoped to the client: another API key's request with the same key runs on its own", async () => {
    const key = randomUUID()
    const first = await post(url, 'echo', { inputs: { value: 1 } }, { 'idempotency-key': key, 'x-api-key': keys[0] as string })
    expect(first.status).toBe(200)
    const other = await post(url, 'echo', { inputs: { value: 1 } }, { 'idempotency-key': key, 'x-api-key': keys[1] as string })
    expect(other.status).toBe(200)
    expect(other.headers.get('idempotent-replayed')).toBeNull()
    expect(other.json.run_id).not.toBe(first.json.run_id)
    const same = await post(url, 'echo', { inputs: { value: 1 } }, { 'idempotency-key': key, 'x-api-key': keys[0] as string })
    expect(same.headers.get('idempotent-replayed')).toBe('true')
  })
})
