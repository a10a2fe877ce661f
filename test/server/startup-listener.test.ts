import { createServer } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { Nexus, NexflowError, WorkflowBuilder } from '../../src/index.js'
import { StartupListener } from '../../src/server/startup-listener.js'
import { tempProject } from '../discovery/helpers.js'

// The port `nexflow start` opens before it loads the server: /health and /ready answer at once,
// every other request waits for the app and is served once the app takes the port over.

const quiet = { info: () => {}, warn: () => {} }
const cleanups: (() => Promise<unknown>)[] = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup()
})

/** Whether `promise` has settled after the event loop has had `ms` to settle it. */
async function settledWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let settled = false
  promise.then(
    () => (settled = true),
    () => (settled = true),
  )
  await new Promise((resolve) => setTimeout(resolve, ms))
  return settled
}

describe('StartupListener: the port while the server loads', () => {
  it('answers /health 200 (phase "starting") and /ready 503 at once, before any app exists', async () => {
    const listener = await StartupListener.listen(0, '127.0.0.1', { discovery: true })
    cleanups.push(() => listener.close('test over'))
    const health = await fetch(`${listener.url}/health`)
    expect(health.status).toBe(200)
    expect(health.headers.get('content-type')).toBe('application/json')
    // What the server answers at its first instant, in phase "starting".
    expect(await health.json()).toEqual({ status: 'ok', phase: 'starting', uptime_s: 0, workflows: 0, discovery: { state: 'running', files: 0, by_status: {} }, pool: null, runs_in_flight: 0, mcp_sessions: 0 })
    const ready = await fetch(`${listener.url}/ready?verbose=1`)
    expect(ready.status).toBe(503)
    expect(await ready.json()).toEqual({ ready: false, reason: 'discovery is running (0 files so far); the server is loading its modules' })
    const head = await fetch(`${listener.url}/health`, { method: 'HEAD' })
    expect(head.status).toBe(200)
    expect(await head.text()).toBe('')
  })

  it('holds a request that comes while loading and the app serves it once it takes the port; /health then has the same fields', async () => {
    const listener = await StartupListener.listen(0, '127.0.0.1', { discovery: false })
    const base = listener.url
    const starting = (await (await fetch(`${base}/health`)).json()) as Record<string, unknown>
    expect(starting).toMatchObject({ phase: 'starting', discovery: { state: 'off' } })
    expect(await (await fetch(`${base}/ready`)).json()).toEqual({ ready: false, reason: 'the server is loading its modules' })
    const early = fetch(`${base}/workflows`)
    const earlyRun = fetch(`${base}/workflows/ping/execute`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ inputs: {} }) })
    expect(await settledWithin(early, 100)).toBe(false)
    await expect.poll(() => listener.waiting).toBe(2)
    // Still answered while the others wait.
    expect((await fetch(`${base}/health`)).status).toBe(200)

    const app = new Nexus({ apiPort: 0, autoDiscovery: false, workers: 1, logger: quiet })
    app.register('ping', new WorkflowBuilder().addNode('Function', 'pong', { code: '() => ({ pong: true })' }))
    cleanups.push(() => app.close())
    await app.start({ listener })
    expect(listener.serving).toBe(true)
    expect(app.url).toBe(base)

    const listed = await early
    expect(listed.status).toBe(200)
    expect(((await listed.json()) as { workflows: { name: string }[] }).workflows.map((w) => w.name)).toEqual(['ping'])
    const ran = await earlyRun
    expect(ran.status).toBe(200)
    expect(((await ran.json()) as { outputs: unknown }).outputs).toEqual({ pong: { pong: true } })

    const health = (await (await fetch(`${base}/health`)).json()) as Record<string, unknown>
    expect(Object.keys(health).sort()).toEqual(Object.keys(starting).sort())
    expect(health).toMatchObject({ status: 'ok', phase: 'serving', uptime_s: expect.any(Number), workflows: 1, discovery: { state: 'off' }, pool: expect.any(Object) })
    await app.ready()
    expect((await fetch(`${base}/ready`)).status).toBe(200)
    // The app's own routes now answer what the loading handler did not know: a 404 names the route.
    const missing = await fetch(`${base}/nope`)
    expect(missing.status).toBe(404)
  })

  it('a request held while loading, for a workflow not served yet, is a 404 saying discovery is running', async () => {
    // A file that never finishes importing keeps discovery running for the whole test.
    const project = tempProject({ 'package.json': '{ "type": "module" }', 'workflows/hangs.ts': 'await new Promise<void>(() => {})\nexport const never = true\n' }, 'nexflow-held-')
    cleanups.push(() => Promise.resolve(project.remove()))
    const listener = await StartupListener.listen(0, '127.0.0.1', { discovery: true })
    const held = fetch(`${listener.url}/workflows/create_user/execute`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })
    await expect.poll(() => listener.waiting).toBe(1)
    const app = new Nexus({ apiPort: 0, root: project.root, autoDiscovery: { cache: false, timeoutMs: 30_000 }, workers: 1, logger: quiet })
    cleanups.unshift(() => app.close())
    await app.start({ listener })
    const answer = await held
    expect(answer.status).toBe(404)
    const { error } = (await answer.json()) as { error: { code: string; message: string } }
    expect(error.code).toBe('WORKFLOW_NOT_FOUND')
    expect(error.message).toMatch(/Discovery is still running \(0 files so far\); it may be in a file not discovered yet/)
  })

  it('when loading fails, the waiting requests are answered 503 and the port closes', async () => {
    const listener = await StartupListener.listen(0, '127.0.0.1', { discovery: true })
    const base = listener.url
    const waiting = fetch(`${base}/workflows`)
    await expect.poll(() => listener.waiting).toBe(1)
    await listener.close('Invalid NEXFLOW_API_KEYS: key 1 is too short')
    const answer = await waiting
    expect(answer.status).toBe(503)
    expect(await answer.json()).toEqual({ error: { code: 'SERVER_CLOSING', message: 'The server did not start: Invalid NEXFLOW_API_KEYS: key 1 is too short' } })
    await expect(fetch(`${base}/health`)).rejects.toThrow()
  })

  it('a port in use is CONFIG_INVALID naming the port and the option, as when the server listens itself', async () => {
    const taken = createServer()
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', () => resolve()))
    cleanups.push(() => new Promise((resolve) => taken.close(resolve)))
    const { port } = taken.address() as { port: number }
    const error = await StartupListener.listen(port, '127.0.0.1', { discovery: true }).catch((thrown: unknown) => thrown)
    expect(error).toBeInstanceOf(NexflowError)
    expect(error).toMatchObject({ code: 'CONFIG_INVALID', message: `Port ${port} on 127.0.0.1 is in use; pick another with apiPort (--port)` })
  })
})
