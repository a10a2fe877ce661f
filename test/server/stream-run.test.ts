import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { z } from 'zod'
import { defaultRegistry, defineNode, Nexus, WorkflowBuilder, type NexusLogger } from '../../src/index.js'
import { sseEvents, type SseEvent } from './sse.js'

const root = fileURLToPath(new URL('../../fixtures/stream', import.meta.url))

// A node type only this process has: its workflow runs on the main thread and streams through the observer.
const Echo = defineNode({ type: 'StreamTestEcho', params: z.object({ text: z.string() }), run: ({ text }) => ({ echoed: text }) })
defaultRegistry().register(Echo, { replace: true })
const local = new WorkflowBuilder().addNode('StreamTestEcho', 'echo', { text: '${text}' }).addNode('StreamTestEcho', 'again', { text: 'twice' }).addConnection('echo', 'echoed', 'again', 'prev')

// A main-thread workflow that waits at a gate the test opens, then has a side effect.
let openGate: () => void = () => {}
let gateReached: () => void = () => {}
const reached = new Promise<void>((resolve) => (gateReached = resolve))
const gate = new Promise<void>((resolve) => (openGate = resolve))
const sideEffects: string[] = []
const Gate = defineNode({
  type: 'StreamTestGate',
  params: z.object({}),
  run: async () => {
    gateReached()
    await gate
    return { opened: true }
  },
})
const Record = defineNode({
  type: 'StreamTestRecord',
  params: z.object({ opened: z.boolean() }),
  run: () => {
    sideEffects.push('recorded')
    return { recorded: true }
  },
})
defaultRegistry().register(Gate, { replace: true })
defaultRegistry().register(Record, { replace: true })
const gated = new WorkflowBuilder().addNode('StreamTestGate', 'gate', {}).addNode('StreamTestRecord', 'record', {}).addConnection('gate', 'opened', 'record', 'opened')

/** Run log lines, and whoever waits for one. */
const runLines: Record<string, unknown>[] = []
const waiting = new Set<() => void>()
const logger: NexusLogger = {
  info: (line) => {
    if (!line.startsWith('{')) return
    const parsed = JSON.parse(line) as Record<string, unknown>
    if (parsed.msg !== 'run') return
    runLines.push(parsed)
    for (const wake of waiting) wake()
  },
  warn: () => {},
}

/** Resolves with the first run log line that matches, waiting for it if it has not come yet. */
function runLine(match: (line: Record<string, unknown>) => boolean): Promise<Record<string, unknown>> {
  return new Promise((resolve) => {
    const check = () => {
      const found = runLines.find(match)
      if (found === undefined) return
      waiting.delete(check)
      resolve(found)
    }
    waiting.add(check)
    check()
  })
}

let app: Nexus
let url: string
let scratch: string

beforeAll(async () => {
  scratch = mkdtempSync(join(tmpdir(), 'nexflow-stream-'))
  // One worker: a run that holds it blocks every other run, until the pool stops that worker.
  app = new Nexus({ apiPort: 0, root, autoDiscovery: { cache: false }, workers: 1, runTimeoutMs: 20_000, queueTimeoutMs: 20_000, maxRequestBodyBytes: 64 * 1024, log: { requests: false, runs: true, format: 'json' }, logger })
  app.register('local', local)
  app.register('gated', gated)
  await app.start()
  url = app.url as string
  await app.ready()
})

afterAll(async () => {
  await app?.close()
  if (scratch !== undefined) rmSync(scratch, { recursive: true, force: true })
})

function stream(name: string, inputs: Record<string, unknown>, init: RequestInit = {}): Promise<Response> {
  return fetch(`${url}/workflows/${name}/execute`, { method: 'POST', body: JSON.stringify({ inputs, mode: 'stream' }), ...init })
}

async function allEvents(response: Response): Promise<SseEvent[]> {
  const events: SseEvent[] = []
  for await (const event of sseEvents(response)) events.push(event)
  return events
}

// Event data is read loosely: each test asserts the shape it cares about.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const data = (event: SseEvent | undefined): Record<string, any> => JSON.parse(event?.data ?? 'null') as Record<string, any>

describe("mode: 'stream'", () => {
  it('sends each node started and finished, in order, with ids, and ends with the result the sync mode answers', async () => {
    const response = await stream('steps', { name: 'Ada' })
    expect(response.status).toBe(200)
    expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/)
    expect(response.headers.get('x-accel-buffering')).toBe('no')
    const events = await allEvents(response)
    expect(events.map((e) => `${e.event}:${e.event.startsWith('node') ? data(e).node_id : ''}`)).toEqual([
      'node-started:first',
      'node-finished:first',
      'node-started:second',
      'node-finished:second',
      'node-started:third',
      'node-finished:third',
      'result:',
    ])
    expect(events.map((e) => e.id)).toEqual(['1', '2', '3', '4', '5', '6', '7'])
    expect(data(events[0])).toEqual({ node_id: 'first', node_type: 'Function' })
    expect(data(events[1])).toMatchObject({ node_id: 'first', ok: true, truncated: false, ms: expect.any(Number), output: { greeting: 'hello Ada' } })
    // A bigint is sent as a string, as in the result.
    expect(data(events[3]).output).toEqual({ shout: 'HELLO ADA', big: '1180591620717411303424' })
    // An output over 64 KiB is cut: a string of its start, and its full length.
    const cut = data(events[5])
    expect(cut).toMatchObject({ node_id: 'third', truncated: true, chars: expect.any(Number) })
    expect(typeof cut.output).toBe('string')
    expect(cut.output.length).toBe(64 * 1024)
    expect(cut.chars).toBeGreaterThan(64 * 1024)
    const result = data(events[6])
    expect(result).toMatchObject({ workflow_id: 'steps', run_id: expect.any(String), version: expect.any(String), outputs: { first: { greeting: 'hello Ada' }, second: { big: '1180591620717411303424' } } })
    expect(result.outputs.third.long).toHaveLength('HELLO ADA'.length * 10000)
  })

  it('a failing node is heard finishing with its error, and the stream ends with the error the sync mode answers', async () => {
    const events = await allEvents(await stream('fails', {}))
    expect(events.map((e) => e.event)).toEqual(['node-started', 'node-finished', 'error'])
    expect(data(events[1])).toMatchObject({ node_id: 'first', ok: false, output: { error: { name: 'TypeError', message: 'first broke' } } })
    const sync = await fetch(`${url}/workflows/fails/execute`, { method: 'POST', body: '{}' })
    const syncBody = (await sync.json()) as { error: { code: string; message: string } }
    const streamed = data(events[2])
    expect(streamed).toMatchObject({ status: sync.status, error: { code: syncBody.error.code, message: syncBody.error.message } })
    expect(streamed.error.code).toBe('WORKFLOW_EXECUTION_FAILED')
  })

  it('a registered workflow that runs on the main thread streams too', async () => {
    const { workflows } = (await (await fetch(`${url}/workflows`)).json()) as { workflows: { name: string; source: { runs_in?: string } }[] }
    expect(workflows.filter((w) => w.name === 'local' || w.name === 'gated').map((w) => w.source.runs_in)).toEqual(['main', 'main'])
    const events = await allEvents(await stream('local', { text: 'hi' }))
    expect(events.map((e) => `${e.event}:${e.event.startsWith('node') ? data(e).node_id : ''}`)).toEqual(['node-started:echo', 'node-finished:echo', 'node-started:again', 'node-finished:again', 'result:'])
    expect(data(events[4]).outputs).toEqual({ echo: { echoed: 'hi' }, again: { echoed: 'twice' } })
  })

  it('errors found before the run starts are plain JSON 4xx, not a stream', async () => {
    const unknownInput = await stream('steps', { name: 'Ada', code: 'process.exit(1)' })
    expect(unknownInput.status).toBe(400)
    expect(unknownInput.headers.get('content-type')).toMatch(/^application\/json/)
    expect(((await unknownInput.json()) as { error: { code: string } }).error.code).toBe('VALIDATION_FAILED')
    const missing = await stream('nope', {})
    expect(missing.status).toBe(404)
    expect(((await missing.json()) as { error: { code: string } }).error.code).toBe('WORKFLOW_NOT_FOUND')
    const proto = await fetch(`${url}/workflows/steps/execute`, { method: 'POST', body: '{"mode":"stream","inputs":{"name":"a","x":{"__proto__":{"polluted":true}}}}' })
    expect(proto.status).toBe(400)
    expect(((await proto.json()) as { error: { message: string } }).error.message).toMatch(/__proto__/)
    const huge = await fetch(`${url}/workflows/steps/execute`, { method: 'POST', body: JSON.stringify({ mode: 'stream', inputs: { name: 'x'.repeat(100_000) } }) })
    expect(huge.status).toBe(413)
    expect(((await huge.json()) as { error: { code: string } }).error.code).toBe('BODY_TOO_LARGE')
    const badMode = await fetch(`${url}/workflows/steps/execute`, { method: 'POST', body: JSON.stringify({ mode: 'streaming' }) })
    expect(badMode.status).toBe(400)
    expect(((await badMode.json()) as { error: { message: string } }).error.message).toMatch(/"mode" must be one of "sync", "async", "stream"/)
  })

  it('the OpenAPI document gives the mode and the event-stream answer', async () => {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    const { paths } = (await (await fetch(`${url}/openapi.json`)).json()) as { paths: Record<string, any> }
    const post = paths['/workflows/steps/execute'].post
    expect(post.requestBody.content['application/json'].schema.properties.mode.enum).toContain('stream')
    expect(post.responses['200'].content['text/event-stream'].schema.description).toMatch(/node-started.*node-finished.*result.*error/s)
  })

  it('a client that disconnects cancels a main-thread run: the nodes after the one running never run', async () => {
    const client = new AbortController()
    const events = sseEvents(await stream('gated', {}, { signal: client.signal }))
    expect((await events.next()).value).toMatchObject({ event: 'node-started' })
    await reached
    client.abort()
    await events.return(undefined).catch(() => {})
    expect(await runLine((l) => l.workflow === 'gated')).toMatchObject({ outcome: 'cancelled', error_code: 'WORKFLOW_ABORTED' })
    openGate()
    await gate
    // The gate node's answer is handled in the microtasks after the gate opens: by the next turn, any next node would have run.
    await new Promise((resolve) => setImmediate(resolve))
    expect(sideEffects).toEqual([])
  })

  it('a client that disconnects cancels the run: its worker is stopped before the side effect', async () => {
    const release = join(scratch, 'release')
    const done = join(scratch, 'done')
    const client = new AbortController()
    const response = await stream('hold', { release, done }, { signal: client.signal })
    const events = sseEvents(response)
    const first = await events.next()
    expect(first.value).toMatchObject({ event: 'node-started' })
    expect(data(first.value as SseEvent).node_id).toBe('hold')
    // The run is now blocking the only worker. Hang up.
    client.abort()
    await events.return(undefined).catch(() => {})
    const line = await runLine((l) => l.workflow === 'hold')
    expect(line).toMatchObject({ outcome: 'cancelled', error_code: 'WORKFLOW_ABORTED' })
    // Were the worker still running the node, this would let it go on to write `done`.
    writeFileSync(release, '')
    // The pool has one worker: this run can only finish on the one that replaced the stopped worker.
    const after = await fetch(`${url}/workflows/steps/execute`, { method: 'POST', body: JSON.stringify({ inputs: { name: 'after' } }) })
    expect(after.status).toBe(200)
    expect(existsSync(done)).toBe(false)
    const health = (await (await fetch(`${url}/health`)).json()) as { runs_in_flight: number }
    expect(health.runs_in_flight).toBe(0)
  })
})

describe("mode: 'stream' past the run's deadline", () => {
  let short: Nexus

  beforeAll(async () => {
    short = new Nexus({ apiPort: 0, autoDiscovery: false, workers: 1, runTimeoutMs: 300, logger: { info: () => {}, warn: () => {} } })
    short.register('forever', new WorkflowBuilder().addNode('Function', 'loop', { code: '() => { for (;;) {} }' }))
    await short.start()
    await short.ready()
  })

  afterAll(async () => {
    await short?.close()
  })

  it('a run that times out ends its stream with the 504 the sync mode answers', async () => {
    const response = await fetch(`${short.url ?? ''}/workflows/forever/execute`, { method: 'POST', body: JSON.stringify({ mode: 'stream' }) })
    const events = await allEvents(response)
    expect(events.map((e) => e.event)).toEqual(['node-started', 'error'])
    expect(data(events[1])).toMatchObject({ status: 504, error: { code: 'RUN_TIMEOUT', message: expect.stringMatching(/did not finish within 300 ms/) } })
  })
})
