import { once } from 'node:events'
import { connect } from 'node:net'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { z } from 'zod'
import { defineNode, defaultRegistry, Nexus, NexflowError, WorkflowBuilder, type NexusLogger } from '../../src/index.js'

// Registered workflows made of built-in nodes run in the execution pool, sent as data.
const greet = new WorkflowBuilder().addNode('Function', 'f', { code: '({ name }) => ({ text: `hello ${name}`, pid: typeof process === "object" })', name: '${name}' })
const busy = new WorkflowBuilder().addNode('Function', 'spin', { code: '({ ms }) => { const end = Date.now() + ms; while (Date.now() < end) {} return { spun: ms } }', ms: '${ms}' })
const forever = new WorkflowBuilder().addNode('Function', 'loop', { code: '() => { for (;;) {} }' })
const exits = new WorkflowBuilder().addNode('Function', 'bye', { code: '() => { process.exit(7) }' })
const hog = new WorkflowBuilder().addNode('Function', 'hog', { code: '() => { const kept = []; for (;;) kept.push(new Array(1e5).fill(kept.length)) }' })
const throws = new WorkflowBuilder()
  .addNode('Function', 'first', { code: '() => { throw new TypeError("first broke") }' })
  .addNode('Function', 'second', { code: '({ x }) => ({ x })' })
  .addConnection('first', 'x', 'second', 'x')

// A node type the workers cannot rebuild from data: its workflow runs on the main thread.
const Shout = defineNode({ type: 'TestShout', params: z.object({ text: z.string() }), run: ({ text }) => ({ text: text.toUpperCase() }) })
defaultRegistry().register(Shout, { replace: true })
const shout = new WorkflowBuilder().addNode('TestShout', 's', { text: '${text}' })

const warnings: string[] = []
const logger: NexusLogger = { info: () => {}, warn: (message) => warnings.push(message) }
let app: Nexus
let url: string

// Answers are read loosely: each test asserts the shape it cares about.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = Record<string, any>

async function post(name: string, body: unknown, init: RequestInit = {}): Promise<{ status: number; json: Json }> {
  const response = await fetch(`${url}/workflows/${name}/execute`, { method: 'POST', body: typeof body === 'string' ? body : JSON.stringify(body), ...init })
  return { status: response.status, json: (await response.json()) as Json }
}

beforeAll(async () => {
  app = new Nexus({ apiPort: 0, autoDiscovery: false, workers: 2, runTimeoutMs: 3000, maxMemoryMb: 64, maxRequestBodyBytes: 4096, logger })
  for (const [name, builder] of Object.entries({ greet, busy, forever, exits, hog, throws, shout })) app.register(name, builder)
  await app.start()
  url = app.url as string
  await app.ready()
})

afterAll(async () => {
  await app?.close()
})

describe('Nexus over HTTP (registered workflows)', () => {
  it('runs a workflow in the pool and answers the source system shape', async () => {
    const { status, json } = await post('greet', { inputs: { name: 'Ada' } })
    expect(status).toBe(200)
    expect(json).toMatchObject({ outputs: { f: { text: 'hello Ada' } }, workflow_id: 'greet', run_id: expect.any(String), version: expect.any(String), execution_time: expect.any(Number) })
    expect((await post('greet', { parameters: { name: 'Grace' } })).json.outputs.f.text).toBe('hello Grace')
    const alias = await fetch(`${url}/workflows/greet`, { method: 'POST', body: JSON.stringify({ inputs: { name: 'Alias' } }) })
    expect(alias.status).toBe(200)
  })

  it('a registered workflow with a node type the workers lack runs on the main thread, with a warning naming it', async () => {
    expect(warnings.some((w) => w.includes('"shout"') && w.includes('TestShout'))).toBe(true)
    const { status, json } = await post('shout', { inputs: { text: 'hi' } })
    expect(status).toBe(200)
    expect(json.outputs.s.text).toBe('HI')
  })

  it('lists workflows, their info, health and the OpenAPI document', async () => {
    const list = (await (await fetch(`${url}/workflows`)).json()) as { workflows: { name: string; input_schema: unknown; source: unknown }[] }
    expect(list.workflows.map((w) => w.name)).toEqual(['busy', 'exits', 'forever', 'greet', 'hog', 'shout', 'throws'])
    expect(list.workflows.find((w) => w.name === 'greet')).toMatchObject({ input_schema: { properties: { name: {} }, additionalProperties: false }, source: { kind: 'registered', runs_in: 'pool' } })
    const info = (await (await fetch(`${url}/workflows/throws/workflow/info`)).json()) as Record<string, unknown>
    expect(info).toMatchObject({
      workflow_id: 'throws',
      name: 'throws',
      nodes: [{ id: 'first', type: 'Function' }, { id: 'second', type: 'Function' }],
      edges: [{ source: 'first', target: 'second', source_output: 'x', target_input: 'x' }],
      node_count: 2,
      edge_count: 1,
    })
    expect(await (await fetch(`${url}/workflows/greet/health`)).json()).toMatchObject({ status: 'healthy', workflow: 'greet' })
    const openapi = (await (await fetch(`${url}/openapi.json`)).json()) as { openapi: string; paths: Json }
    expect(openapi.openapi).toBe('3.1.0')
    expect(openapi.paths['/workflows/greet/execute'].post.requestBody.content['application/json'].schema.properties.inputs.properties).toHaveProperty('name')
    expect(openapi.paths['/runs'].get.responses['200'].content['application/json'].schema.items).toEqual({ $ref: '#/components/schemas/RunRecord' })
    expect((await fetch(`${url}/ready`)).status).toBe(200)
  })

  it('an unknown workflow is 404 naming it', async () => {
    const { status, json } = await post('missing', {})
    expect(status).toBe(404)
    expect(json.error).toMatchObject({ code: 'WORKFLOW_NOT_FOUND', message: expect.stringContaining('"missing"') })
  })

  it('a misspelled workflow name is 404 with the closest served name', async () => {
    const { status, json } = await post('gret', {})
    expect(status).toBe(404)
    expect(json.error.message).toContain('Did you mean "greet"?')
  })

  it('a failed run is 500 naming the failed node and its error, without a stack', async () => {
    const { status, json } = await post('throws', {})
    expect(status).toBe(500)
    expect(json.error.code).toBe('WORKFLOW_EXECUTION_FAILED')
    expect(json.error.message).toContain('Node "first"')
    expect(json.error.message).toContain('first broke')
    expect(json.error.details.nodeId).toBe('first')
    expect(JSON.stringify(json)).not.toContain('    at ')
  })
})

describe('a caller controls only the declared inputs', () => {
  it("a Function node's code sent as an input is refused and never runs", async () => {
    const { status, json } = await post('greet', { inputs: { name: 'x', code: '() => ({ pid: process.pid })' } })
    expect(status).toBe(400)
    expect(json.error.code).toBe('VALIDATION_FAILED')
    expect(json.error.message).toContain('input "code" is not an input of this workflow')
  })

  it('a node-specific override is refused', async () => {
    const { status, json } = await post('greet', { inputs: { name: 'x', f: { code: '() => ({ owned: true })' } } })
    expect(status).toBe(400)
    expect(json.error.message).toContain('input "f"')
  })

  it.each(['__proto__', 'constructor', 'prototype'])('a %s key anywhere in the body is 400', async (key) => {
    const { status, json } = await post('greet', `{ "inputs": { "name": "x", "deep": [{ "${key}": { "polluted": 1 } }] } }`)
    expect(status).toBe(400)
    expect(json.error.message).toContain(`key "${key}"`)
  })

  it('a top-level __proto__ key is 400 too', async () => {
    const { status } = await post('greet', '{ "__proto__": { "inputs": { "name": "x" } } }')
    expect(status).toBe(400)
  })

  it('an over-long key and deep nesting are 400', async () => {
    expect((await post('greet', { inputs: { name: 'x', ['k'.repeat(257)]: 1 } })).json.error.message).toContain('longer than 256')
    expect((await post('greet', `{ "inputs": { "name": ${'['.repeat(100)}${']'.repeat(100)} } }`)).json.error.message).toContain('deeper than 64')
  })

  it('malformed JSON, a non-object body, unknown body keys, and inputs with parameters are 400 naming the problem', async () => {
    expect(await post('greet', '{ "inputs": ')).toMatchObject({ status: 400, json: { error: { code: 'REQUEST_INVALID', message: expect.stringContaining('not valid JSON') } } })
    expect(await post('greet', '[1, 2]')).toMatchObject({ status: 400, json: { error: { code: 'REQUEST_INVALID' } } })
    expect(await post('greet', { input: { name: 'x' } })).toMatchObject({ status: 400, json: { error: { message: expect.stringContaining('"input"') } } })
    expect(await post('greet', { inputs: { name: 'x' }, parameters: { name: 'y' } })).toMatchObject({ status: 400, json: { error: { message: expect.stringContaining('not both') } } })
    expect(await post('greet', { inputs: 'name=x' })).toMatchObject({ status: 400 })
    expect(await post('greet', { inputs: { name: 'x' }, mode: 'eventually' })).toMatchObject({ status: 400, json: { error: { code: 'REQUEST_INVALID', message: expect.stringContaining('"mode" must be one of') } } })
    expect(await post('greet', { inputs: { name: 'x' }, mode: { $ne: 1 } })).toMatchObject({ status: 400, json: { error: { code: 'REQUEST_INVALID' } } })
    expect(await post('greet', { inputs: { name: 'x' }, mode: 'sync' })).toMatchObject({ status: 200 })
  })

  it('a missing or mistyped input is 400 with the zod issues naming it', async () => {
    const missing = await post('greet', { inputs: {} })
    expect(missing.status).toBe(400)
    expect(missing.json.error.details.issues[0].path).toEqual(['name'])
    const mistyped = await post('shout', { inputs: { text: 5 } })
    expect(mistyped.status).toBe(400)
    expect(mistyped.json.error.message).toContain('input "text"')
  })

  it('a body over maxRequestBodyBytes is 413 before it is parsed, with or without a Content-Length', async () => {
    const big = JSON.stringify({ inputs: { name: 'x'.repeat(5000) } })
    expect(await post('greet', big)).toMatchObject({ status: 413, json: { error: { code: 'BODY_TOO_LARGE' } } })
    const stream = new ReadableStream({
      start(controller) {
        controller.enqueue(new TextEncoder().encode(big))
        controller.close()
      },
    })
    const chunked = await fetch(`${url}/workflows/greet/execute`, { method: 'POST', body: stream, duplex: 'half' })
    expect(chunked.status).toBe(413)
  })

  it('a client that sends part of a body and disconnects costs nothing: the next request is served', async () => {
    const { port } = new URL(url)
    const socket = connect(Number(port), '127.0.0.1')
    await once(socket, 'connect')
    socket.write('POST /workflows/greet/execute HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"inputs":')
    // The server has the headers and part of the body, and waits for the rest; then the client goes.
    await expect.poll(async () => ((await (await fetch(`${url}/health`)).json()) as { status: string }).status).toBe('ok')
    socket.destroy()
    await once(socket, 'close')
    expect(await post('greet', { inputs: { name: 'next' } })).toMatchObject({ status: 200, json: { outputs: { f: { text: 'hello next' } } } })
  })
})

describe('runs never stall the server', () => {
  it('a CPU-bound node runs off the main thread: /health answers during it and the event loop stays responsive', async () => {
    const delay = monitorEventLoopDelay({ resolution: 10 })
    delay.enable()
    const run = post('busy', { inputs: { ms: 1500 } })
    // Wait for the run to be on a worker, then ask for health while it spins.
    await expect.poll(async () => ((await (await fetch(`${url}/health`)).json()) as { runs_in_flight: number }).runs_in_flight, { timeout: 10_000 }).toBe(1)
    const health = await fetch(`${url}/health`)
    expect(health.status).toBe(200)
    expect((await run).json.outputs.spin.spun).toBe(1500)
    delay.disable()
    // The 1.5 s of spinning never reached this thread; a generous bound for a loaded CI machine.
    expect(delay.max / 1e6).toBeLessThan(500)
  })

  it('a run over runTimeoutMs is 504 RUN_TIMEOUT, its worker is replaced, and the next request succeeds', async () => {
    const { status, json } = await post('forever', {})
    expect(status).toBe(504)
    expect(json.error.code).toBe('RUN_TIMEOUT')
    expect((await post('greet', { inputs: { name: 'after' } })).status).toBe(200)
  })

  it('process.exit in a node is 500 RUN_WORKER_EXITED naming the cause, and the next request is served', async () => {
    const { status, json } = await post('exits', {})
    expect(status).toBe(500)
    expect(json.error).toMatchObject({ code: 'RUN_WORKER_EXITED', details: { exitCode: 7 } })
    expect((await post('greet', { inputs: { name: 'after' } })).status).toBe(200)
  })

  it('a run over maxMemoryMb is 500 RUN_OUT_OF_MEMORY, and the next request is served', async () => {
    const { status, json } = await post('hog', {})
    expect(status).toBe(500)
    expect(json.error.code).toBe('RUN_OUT_OF_MEMORY')
    expect((await post('greet', { inputs: { name: 'after' } })).status).toBe(200)
  })
})

describe('register and options', () => {
  it('refuses a duplicate name and an invalid one', () => {
    expect(() => app.register('greet', greet)).toThrow(/already registered/)
    expect(() => app.register('has space', greet)).toThrow(NexflowError)
    expect(() => app.register('x'.repeat(129), greet)).toThrow(/1 to 128/)
  })

  it('deregister stops serving a workflow', async () => {
    app.register('temporary', greet)
    expect((await post('temporary', { inputs: { name: 'x' } })).status).toBe(200)
    expect(app.deregister('temporary')).toBe(true)
    expect((await post('temporary', { inputs: { name: 'x' } })).status).toBe(404)
  })

  it('an unknown option is CONFIG_INVALID naming it and the closest option', () => {
    expect(() => new Nexus({ apiport: 1 } as never)).toThrow(/Unknown Nexus option `apiport` \(did you mean `apiPort`\?\)/)
    expect(() => new Nexus({ runTimeoutMs: -1 })).toThrow(/Invalid Nexus option `runTimeoutMs`/)
    expect(() => new Nexus({ autoDiscovery: { timeout: 5 } as never })).toThrow(/Unknown discovery option `timeout`/)
  })
})

describe('graceful shutdown', () => {
  it('finishes a run in flight, then stops listening', async () => {
    const server = new Nexus({ apiPort: 0, autoDiscovery: false, workers: 1, logger })
    server.register('busy', busy)
    await server.start()
    const base = server.url as string
    await server.ready()
    const inFlight = fetch(`${base}/workflows/busy/execute`, { method: 'POST', body: JSON.stringify({ inputs: { ms: 800 } }) })
    await expect.poll(async () => ((await (await fetch(`${base}/health`)).json()) as { runs_in_flight: number }).runs_in_flight, { timeout: 10_000 }).toBe(1)
    const closed = server.close()
    const response = await inFlight
    expect(response.status).toBe(200)
    expect(((await response.json()) as { outputs: { spin: { spun: number } } }).outputs.spin.spun).toBe(800)
    await closed
    expect(server.state).toBe('closed')
    await expect(fetch(`${base}/health`)).rejects.toThrow()
  })
})

describe('start() resolves once the port listens', () => {
  it('a run and an MCP request sent the moment start() resolves wait for the pool and MCP to load, and are served', async () => {
    const server = new Nexus({ apiPort: 0, autoDiscovery: false, workers: 1, logger })
    server.register('greet', greet)
    await server.start()
    const base = server.url as string
    const initialize = { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'test', version: '1' } } }
    const [run, mcp, health] = await Promise.all([
      fetch(`${base}/workflows/greet/execute`, { method: 'POST', body: JSON.stringify({ inputs: { name: 'early' } }) }),
      fetch(`${base}/mcp`, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' }, body: JSON.stringify(initialize) }),
      fetch(`${base}/health`),
    ])
    expect(health.status).toBe(200)
    expect(run.status).toBe(200)
    expect(((await run.json()) as { outputs: { f: { text: string } } }).outputs.f.text).toBe('hello early')
    expect(mcp.status).toBe(200)
    expect(await mcp.text()).toContain('"serverInfo"')
    await server.close()
  })

  it('close() right after start() waits for the pool to load, then closes it', async () => {
    const server = new Nexus({ apiPort: 0, autoDiscovery: false, workers: 1, logger })
    await server.start()
    const base = server.url as string
    await server.close()
    expect(server.state).toBe('closed')
    await expect(fetch(`${base}/health`)).rejects.toThrow()
    await expect(server.ready()).resolves.toBeUndefined()
  })
})
