// `mode: 'async'` over real HTTP, in-process, with the embedded SQLite store: 202 and an id, the
// status as it moves, outputs and errors, cancel, and hostile ids.
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Nexus, type NexusLogger } from '../../src/index.js'
import { broken, echo, gate, post, pollStatus, request, tempRoot } from './durability-helpers.js'

const root = tempRoot()
const lines: string[] = []
const logger: NexusLogger = { info: (line) => lines.push(line), warn: () => {} }
let app: Nexus
let url: string

beforeAll(async () => {
  app = new Nexus({ apiPort: 0, root: root.path, autoDiscovery: false, workers: 2, runTimeoutMs: 20_000, logger, log: { format: 'json' } })
  app.register('gate', gate)
  app.register('echo', echo)
  app.register('broken', broken)
  await app.start()
  url = app.url as string
  await app.ready()
})

afterAll(async () => {
  await app?.close()
  root.remove()
})

describe('async runs (embedded store)', () => {
  it('answers 202 with an execution_id, then the status goes pending/running to completed with the outputs', async () => {
    const path = root.file('open-1')
    const accepted = await post(url, 'gate', { inputs: { path }, mode: 'async' })
    expect(accepted.status).toBe(202)
    expect(accepted.json).toEqual({ execution_id: expect.stringMatching(/^[0-9a-f-]{36}$/), status: 'pending' })
    expect(accepted.headers.get('location')).toBe(`/workflows/gate/status/${accepted.json.execution_id}`)
    expect(accepted.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/)
    const id = accepted.json.execution_id as string
    const running = await pollStatus(url, 'gate', id, (status) => status === 'running')
    expect(running).toMatchObject({ execution_id: id, status: 'running', started_at: expect.any(String), finished_at: null })
    root.open('open-1')
    const done = await pollStatus(url, 'gate', id, (status) => status === 'completed')
    expect(done).toMatchObject({ execution_id: id, workflow_id: 'gate', status: 'completed', outputs: { gate: { opened: path } }, finished_at: expect.any(String) })
    expect(existsSync(join(root.path, '.nexflow', 'nexflow.db'))).toBe(true)
  })

  it("the submitting request's X-Request-Id is in the async run's log line, with the run id", async () => {
    const { json } = await post(url, 'echo', { inputs: { value: 'traced' }, mode: 'async' }, { 'x-request-id': 'async-trace-7' })
    const id = json.execution_id as string
    await pollStatus(url, 'echo', id, (status) => status === 'completed')
    // The run's line is written as the run ends, a moment before or after its status is stored.
    const deadline = Date.now() + 10_000
    let run: Record<string, unknown> | undefined
    while (run === undefined && Date.now() < deadline) {
      run = lines
        .filter((line) => line.startsWith('{'))
        .map((line) => JSON.parse(line) as Record<string, unknown>)
        .find((entry) => entry.msg === 'run' && entry.run_id === id)
      if (run === undefined) await new Promise((resolve) => setTimeout(resolve, 10))
    }
    expect(run).toMatchObject({ request_id: 'async-trace-7', workflow: 'echo', outcome: 'completed' })
  })

  it('invalid inputs are 400 naming the input, as for a sync run; nothing is accepted', async () => {
    const before = ((await request(`${url}/runs`)).json as unknown as unknown[]).length
    const { status, json } = await post(url, 'echo', { inputs: { value: 1, nope: true }, mode: 'async' })
    expect(status).toBe(400)
    expect(json.error).toMatchObject({ code: 'VALIDATION_FAILED', message: expect.stringContaining('nope') })
    expect(((await request(`${url}/runs`)).json as unknown as unknown[]).length).toBe(before)
  })

  it('a run that fails is "failed" with the error', async () => {
    const { json } = await post(url, 'broken', { mode: 'async' })
    const done = await pollStatus(url, 'broken', json.execution_id as string, (status) => status !== 'pending' && status !== 'running')
    expect(done.status).toBe('failed')
    expect(done.error).toMatchObject({ code: 'WORKFLOW_EXECUTION_FAILED', message: expect.stringContaining('boom') })
  })

  it('DELETE cancels a running run: its worker is stopped, the status says cancelled and stays so', async () => {
    const { json } = await post(url, 'gate', { inputs: { path: root.file('never') }, mode: 'async' })
    const id = json.execution_id as string
    await pollStatus(url, 'gate', id, (status) => status === 'running')
    const cancelled = await request(`${url}/workflows/gate/status/${id}`, { method: 'DELETE' })
    expect(cancelled.status).toBe(200)
    expect(cancelled.json).toMatchObject({ status: 'cancelled', finished_at: expect.any(String) })
    // The pool got its worker back: a new run completes.
    const again = await post(url, 'echo', { inputs: { value: 1 } })
    expect(again.status).toBe(200)
    expect((await request(`${url}/workflows/gate/status/${id}`)).json.status).toBe('cancelled')
    // Cancelling a finished run is a 409 naming its state.
    const twice = await request(`${url}/workflows/gate/status/${id}`, { method: 'DELETE' })
    expect(twice.status).toBe(409)
    expect(twice.json.error.code).toBe('RUN_FINISHED')
  })

  it('an execution_id that is not a UUID is 400; an unknown one, or another workflow\'s run, is 404', async () => {
    const hostile = await request(`${url}/workflows/echo/status/${encodeURIComponent("1' OR '1'='1")}`)
    expect(hostile.status).toBe(400)
    expect(hostile.json.error.code).toBe('REQUEST_INVALID')
    expect((await request(`${url}/workflows/echo/status/${'x'.repeat(5000)}`)).status).toBe(400)
    const unknown = await request(`${url}/workflows/echo/status/00000000-0000-4000-8000-000000000000`)
    expect(unknown.status).toBe(404)
    expect(unknown.json.error.code).toBe('RUN_NOT_FOUND')
    const { json } = await post(url, 'echo', { inputs: { value: 2 }, mode: 'async' })
    await pollStatus(url, 'echo', json.execution_id as string, (status) => status === 'completed')
    const other = await request(`${url}/workflows/gate/status/${json.execution_id as string}`)
    expect(other.status).toBe(404)
    expect((await request(`${url}/workflows/gate/status/${json.execution_id as string}`, { method: 'DELETE' })).status).toBe(404)
  })

  it('/openapi.json documents the mode, the Idempotency-Key header and the status path', async () => {
    const { json } = await request(`${url}/openapi.json`)
    const execute = json.paths['/workflows/echo/execute'].post
    expect(execute.requestBody.content['application/json'].schema.properties.mode.enum).toContain('async')
    expect(execute.parameters[0].name).toBe('Idempotency-Key')
    expect(execute.responses).toHaveProperty('202')
    expect(Object.keys(json.paths['/workflows/echo/status/{execution_id}'])).toEqual(expect.arrayContaining(['get', 'delete']))
  })

  it('GET /runs lists async runs from the store (a running one too) beside sync runs, each once, newest first', async () => {
    await post(url, 'echo', { inputs: { value: 'listed-sync' } })
    const path = root.file('listed')
    const { json } = await post(url, 'gate', { inputs: { path }, mode: 'async' })
    const id = json.execution_id as string
    await pollStatus(url, 'gate', id, (status) => status === 'running')
    type Listed = { run_id: string; mode: string; status: string; workflow: string; inputs: Record<string, unknown>; outputs?: unknown; started_at: string }
    const list = async () => (await request(`${url}/runs?limit=200`)).json.runs as Listed[]
    const running = await list()
    expect(running.filter((run) => run.run_id === id)).toEqual([expect.objectContaining({ mode: 'async', status: 'running', workflow: 'gate', inputs: { path } })])
    expect(running.some((run) => run.mode === 'sync' && run.inputs.value === 'listed-sync')).toBe(true)
    const starts = running.map((run) => Date.parse(run.started_at))
    expect(starts).toEqual([...starts].sort((a, b) => b - a))
    root.open('listed')
    await pollStatus(url, 'gate', id, (status) => status === 'completed')
    // Run here, it is in the server's memory too: listed once, as the store has it.
    expect((await list()).filter((run) => run.run_id === id)).toEqual([expect.objectContaining({ mode: 'async', status: 'completed', outputs: { gate: { opened: path } } })])
  })

  it('an unknown mode is 400 naming the modes', async () => {
    const { status, json } = await post(url, 'echo', { mode: 'later' })
    expect(status).toBe(400)
    expect(json.error.message).toContain('"async"')
  })
})

describe('async runs with the durability database unreachable', () => {
  it('an async or keyed request is 503 DURABILITY_UNAVAILABLE naming the problem; a plain sync run still works', async () => {
    const down = new Nexus({ apiPort: 0, root: root.path, autoDiscovery: false, workers: 1, logger, durability: { databaseUrl: 'postgres://postgres@127.0.0.1:1/none' } })
    down.register('echo', echo)
    await down.start()
    try {
      const base = down.url as string
      const async = await post(base, 'echo', { inputs: { value: 1 }, mode: 'async' })
      expect(async.status).toBe(503)
      expect(async.json.error).toMatchObject({ code: 'DURABILITY_UNAVAILABLE', message: expect.stringContaining('cannot be reached') })
      // Tried again on the next request, not stuck on the first failure.
      expect((await post(base, 'echo', { inputs: { value: 1 } }, { 'idempotency-key': 'k1' })).status).toBe(503)
      expect((await post(base, 'echo', { inputs: { value: 1 } })).status).toBe(200)
    } finally {
      await down.close()
    }
  })
})
