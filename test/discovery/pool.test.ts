import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import { DataFlow } from '../../src/dataflow/index.js'
import type { IsolateEvents, IsolateFactory } from '../../src/discovery/pool/isolate.js'
import { DiscoveryPool, type TaskOutcome } from '../../src/discovery/pool/pool.js'
import type { FileManifest } from '../../src/protocol/discovery.js'
import { workerToMainMessageSchema, type MainToWorkerMessage } from '../../src/protocol/discovery-messages.js'
import { NodeRegistry } from '../../src/workflow/registry.js'

const ROOT = '/project'

function manifestFor(file: string): FileManifest {
  return { file, hash: 'h', imports: [], importMs: 1, workflows: [], dataflows: [], nodeTypes: [], warnings: [] }
}

interface FakeWorker {
  index: number
  say(message: unknown): void
  die(code: number): void
}

/**
 * Isolates that answer as `script` says, to test how the pool treats each kind of message
 * without starting real workers.
 */
function fakes(
  script: (request: Extract<MainToWorkerMessage, { type: 'import' }>, worker: FakeWorker) => void,
  options: { ready?: (index: number) => boolean | 'never'; killable?: boolean; cancel?: (request: Extract<MainToWorkerMessage, { type: 'cancel' }>, worker: FakeWorker) => void } = {},
) {
  let spawned = 0
  const factory: IsolateFactory = (_spec, events: IsolateEvents) => {
    const index = spawned++
    let alive = true
    const worker: FakeWorker = {
      index,
      say: (message) => setImmediate(() => alive && events.message(message)),
      die: (code) =>
        setImmediate(() => {
          if (!alive) return
          alive = false
          events.exit({ code, signal: null, oom: false })
        }),
    }
    const ready = options.ready?.(index) ?? true
    if (ready === true) worker.say({ type: 'ready', pid: 1000 + index, threadId: index })
    else if (ready === false) worker.die(1)
    return {
      description: `fake ${index}`,
      send: (message) => {
        if (message.type === 'import') script(message, worker)
        else options.cancel?.(message, worker)
      },
      kill: () => {
        if (options.killable ?? true) worker.die(1)
      },
      unref: () => {},
      ref: () => {},
      takeOutput: () => '',
    }
  }
  return { factory, spawned: () => spawned }
}

function pool(factory: IsolateFactory, overrides: Partial<ConstructorParameters<typeof DiscoveryPool>[0]> = {}) {
  return new DiscoveryPool({ isolation: 'thread', concurrency: 1, timeoutMs: 1000, stuckGraceMs: 100, maxMemoryMb: 64, init: { root: ROOT, maxManifestBytes: 1 << 20 }, factory, ...overrides })
}

const failed = (outcome: TaskOutcome) => (outcome.kind === 'failed' ? outcome : undefined)

/** A promise and the function that resolves it, for the test to wait on an event. */
function signal(): { promise: Promise<void>; fire: () => void } {
  let fire = () => {}
  const promise = new Promise<void>((resolve) => (fire = resolve))
  return { promise, fire }
}

/**
 * Fires once the message a fake worker says now has been read by the pool: a fake delivers each
 * message in a later `setImmediate`, and immediates run in the order they were queued.
 */
const afterDelivery = (fire: () => void) => setImmediate(fire)

describe('the discovery pool trusts no worker', () => {
  it('accepts a well-formed manifest for the file it asked for', async () => {
    const { factory } = fakes((request, worker) => {
      worker.say({ type: 'started', taskId: request.taskId })
      worker.say({ type: 'imported', taskId: request.taskId, manifest: manifestFor(request.file) })
    })
    const p = pool(factory)
    expect(await p.run(`${ROOT}/a.ts`)).toMatchObject({ kind: 'imported', manifest: { file: `${ROOT}/a.ts` } })
    await p.close()
  })

  it('reports a manifest for another file as invalid and replaces the worker', async () => {
    const { factory, spawned } = fakes((request, worker) => {
      worker.say({ type: 'started', taskId: request.taskId })
      worker.say({ type: 'imported', taskId: request.taskId, manifest: manifestFor(request.file.endsWith('a.ts') ? '/etc/passwd' : request.file) })
    })
    const p = pool(factory)
    expect(failed(await p.run(`${ROOT}/a.ts`))).toMatchObject({ status: 'invalid', error: { code: 'DISCOVERY_MANIFEST_INVALID', message: expect.stringContaining('a manifest for "/etc/passwd"') } })
    expect(await p.run(`${ROOT}/b.ts`)).toMatchObject({ kind: 'imported' })
    expect(spawned()).toBe(2)
    await p.close()
  })

  it('reports a message that fails the schema as invalid', async () => {
    const { factory } = fakes((request, worker) => {
      worker.say({ type: 'started', taskId: request.taskId })
      worker.say({ type: 'imported', taskId: request.taskId, manifest: { ...manifestFor(request.file), workflows: [{ name: '', exportName: 'x', workflow: {} }] } })
    })
    const p = pool(factory)
    expect(failed(await p.run(`${ROOT}/a.ts`))).toMatchObject({ status: 'invalid', error: { message: expect.stringContaining('manifest.workflows.0') } })
    await p.close()
  })

  it('reports an answer for another task, or a second "started", as invalid', async () => {
    const { factory } = fakes((request, worker) => {
      worker.say({ type: 'started', taskId: request.taskId })
      worker.say(request.file.endsWith('a.ts') ? { type: 'started', taskId: request.taskId } : { type: 'imported', taskId: request.taskId + 1, manifest: manifestFor(request.file) })
    })
    const p = pool(factory)
    expect(failed(await p.run(`${ROOT}/a.ts`))?.error.message).toContain('a second "started"')
    expect(failed(await p.run(`${ROOT}/b.ts`))?.error.message).toContain('for a file it was not importing')
    await p.close()
  })

  it('a message nested too deep to validate is invalid, not an uncaught stack overflow that ends the main process', async () => {
    let deep: unknown = 0
    for (let i = 0; i < 100_000; i++) deep = [deep]
    const workflow = { format: 'nexflow.workflow/v1', name: 'deep', description: '', nodes: [{ id: 'n', type: 'Function', params: { deep } }], connections: [], inputSchema: {} }
    const { factory } = fakes((request, worker) => {
      worker.say({ type: 'started', taskId: request.taskId })
      worker.say({ type: 'imported', taskId: request.taskId, manifest: { ...manifestFor(request.file), workflows: [{ name: 'deep', exportName: 'default', workflow }] } })
    })
    const p = pool(factory)
    expect(failed(await p.run(`${ROOT}/a.ts`))).toMatchObject({ status: 'invalid', error: { message: expect.stringContaining('levels deep') } })
    await p.close()
  })

  it('a message that throws while it is validated is invalid, not an uncaught error on the main thread', async () => {
    const { factory } = fakes((request, worker) => {
      worker.say({ type: 'started', taskId: request.taskId })
      const manifest = manifestFor(request.file)
      Object.defineProperty(manifest, 'warnings', {
        enumerable: true,
        get() {
          throw new RangeError('Maximum call stack size exceeded')
        },
      })
      worker.say({ type: 'imported', taskId: request.taskId, manifest })
    })
    const p = pool(factory)
    expect(failed(await p.run(`${ROOT}/a.ts`))).toMatchObject({ status: 'invalid', error: { message: expect.stringContaining('cannot be validated (RangeError: Maximum call stack size exceeded)') } })
    await p.close()
  })

  it('a "crash" message forged in a thread is invalid, not the last words of a crash', async () => {
    const { factory } = fakes((request, worker) => {
      worker.say({ type: 'started', taskId: request.taskId })
      worker.say({ type: 'crash', error: { name: 'Error', message: 'not what happened' } })
      worker.die(3)
    })
    const p = pool(factory)
    expect(failed(await p.run(`${ROOT}/a.ts`))).toMatchObject({ status: 'invalid', error: { message: expect.stringContaining('only a child process sends') } })
    await p.close()
  })

  it('blames a manifest larger than the limit, even if the worker did not', async () => {
    const { factory } = fakes((request, worker) => {
      worker.say({ type: 'started', taskId: request.taskId })
      worker.say({ type: 'imported', taskId: request.taskId, manifest: { ...manifestFor(request.file), warnings: ['x'.repeat(2 << 20)] } })
    })
    const p = pool(factory)
    expect(failed(await p.run(`${ROOT}/a.ts`))?.error.message).toMatch(/a manifest of \d+ bytes, over the 1048576-byte limit/)
    await p.close()
  })

  it('puts DataFlow descriptions back from their ids, counting each in full against the size limit', async () => {
    const dataflow = new DataFlow({ databaseUrl: 'sqlite::memory:', registry: new NodeRegistry() })
    dataflow.model('User', { email: z.string() })
    const described = dataflow.toManifest()
    const { factory } = fakes((request, worker) => {
      worker.say({ type: 'started', taskId: request.taskId })
      // The first file describes DataFlow #4; the second names it only.
      const first = request.file.endsWith('a.ts')
      worker.say({ type: 'imported', taskId: request.taskId, manifest: { ...manifestFor(request.file), dataflows: [4] }, ...(first ? { described: [{ id: 4, dataflow: described }] } : {}) })
    })
    const p = pool(factory)
    const a = await p.run(`${ROOT}/a.ts`)
    const b = await p.run(`${ROOT}/b.ts`)
    expect(a).toMatchObject({ kind: 'imported', manifest: { dataflows: [{ dialect: 'sqlite', models: [{ name: 'User' }] }] } })
    expect(b).toMatchObject({ kind: 'imported', manifest: { dataflows: [{ dialect: 'sqlite', models: [{ name: 'User' }] }] } })
    await p.close()

    const size = JSON.stringify({ ...manifestFor(`${ROOT}/a.ts`), dataflows: [described] }).length
    const small = pool(fakes((request, worker) => {
      worker.say({ type: 'started', taskId: request.taskId })
      worker.say({ type: 'imported', taskId: request.taskId, manifest: { ...manifestFor(request.file), dataflows: [0] }, described: [{ id: 0, dataflow: described }] })
    }).factory, { init: { root: ROOT, maxManifestBytes: size - 100 } })
    expect(failed(await small.run(`${ROOT}/a.ts`))?.error.message).toMatch(/a manifest of \d+ bytes, over the \d+-byte limit/)
    await small.close()
  })

  it('measures a manifest with DataFlow ids exactly as the worker measured it in full', async () => {
    const dataflow = new DataFlow({ databaseUrl: 'sqlite::memory:', registry: new NodeRegistry() }).toManifest()
    const full = JSON.stringify({ ...manifestFor(`${ROOT}/a.ts`), dataflows: [dataflow] }).length
    const answer = (limit: number) =>
      pool(
        fakes((request, worker) => {
          worker.say({ type: 'started', taskId: request.taskId })
          worker.say({ type: 'imported', taskId: request.taskId, manifest: { ...manifestFor(request.file), dataflows: [12345] }, described: [{ id: 12345, dataflow }] })
        }).factory,
        { init: { root: ROOT, maxManifestBytes: limit } },
      )
    const atLimit = answer(full)
    expect(await atLimit.run(`${ROOT}/a.ts`)).toMatchObject({ kind: 'imported' })
    await atLimit.close()
    const below = answer(full - 1)
    expect(failed(await below.run(`${ROOT}/a.ts`))?.error.message).toContain(`a manifest of ${full} bytes`)
    await below.close()
  })

  it('refuses a DataFlow description its manifest does not name: nothing unnamed is kept or escapes the limit', async () => {
    const dataflow = new DataFlow({ databaseUrl: 'sqlite::memory:', registry: new NodeRegistry() }).toManifest()
    const { factory } = fakes((request, worker) => {
      worker.say({ type: 'started', taskId: request.taskId })
      worker.say({ type: 'imported', taskId: request.taskId, manifest: manifestFor(request.file), described: [{ id: 3, dataflow }] })
    })
    const p = pool(factory)
    expect(failed(await p.run(`${ROOT}/a.ts`))).toMatchObject({ status: 'invalid', error: { message: expect.stringContaining('DataFlow description #3, which its manifest does not name') } })
    await p.close()
  })

  it('reports a DataFlow id never described, or described twice, as invalid', async () => {
    const dataflow = new DataFlow({ databaseUrl: 'sqlite::memory:', registry: new NodeRegistry() }).toManifest()
    const { factory } = fakes((request, worker) => {
      worker.say({ type: 'started', taskId: request.taskId })
      if (request.file.endsWith('a.ts')) worker.say({ type: 'imported', taskId: request.taskId, manifest: { ...manifestFor(request.file), dataflows: [9] } })
      else worker.say({ type: 'imported', taskId: request.taskId, manifest: { ...manifestFor(request.file), dataflows: [1] }, described: [{ id: 1, dataflow }, { id: 1, dataflow }] })
    })
    const p = pool(factory)
    expect(failed(await p.run(`${ROOT}/a.ts`))).toMatchObject({ status: 'invalid', error: { message: expect.stringContaining('DataFlow #9, which it never described') } })
    expect(failed(await p.run(`${ROOT}/b.ts`))).toMatchObject({ status: 'invalid', error: { message: expect.stringContaining('DataFlow description #1 a second time') } })
    await p.close()
  })

  it('starts the deadline of a file begun in the same message as the previous report, and refuses one it never handed over', async () => {
    const aStarted = signal()
    const { factory, spawned } = fakes((request, worker) => {
      // a.ts: answered at once, naming b.ts as begun once it has been handed over in advance.
      if (request.file.endsWith('a.ts')) {
        worker.say({ type: 'started', taskId: request.taskId })
        return afterDelivery(aStarted.fire)
      }
      if (request.file.endsWith('b.ts')) return worker.say({ type: 'imported', taskId: request.taskId - 1, manifest: manifestFor(`${ROOT}/a.ts`), next: request.taskId })
      // b.ts never answers: its deadline (begun with a.ts's report) expires.
      // c.ts (and d.ts): reported begun is a task that does not exist, which ends the worker.
      worker.say({ type: 'started', taskId: request.taskId })
      worker.say({ type: 'imported', taskId: request.taskId, manifest: manifestFor(request.file), next: 99 })
    })
    const p = pool(factory, { timeoutMs: 300 })
    const a = p.run(`${ROOT}/a.ts`)
    // Once the pool has read "started" for a.ts, it hands b.ts to the same worker in advance.
    await aStarted.promise
    const b = p.run(`${ROOT}/b.ts`)
    expect(await a).toMatchObject({ kind: 'imported' })
    expect(failed(await b)).toMatchObject({ status: 'timeout', durationMs: expect.any(Number) })
    expect(failed(await b)?.durationMs).toBeGreaterThanOrEqual(290)
    expect(await p.run(`${ROOT}/c.ts`)).toMatchObject({ kind: 'imported' })
    expect(await p.run(`${ROOT}/d.ts`)).toMatchObject({ kind: 'imported' })
    // One worker for a.ts and b.ts (killed at b's deadline), one for c.ts (ended for its lie), one for d.ts.
    expect(spawned()).toBe(3)
    await p.close()
  })

  it('hands a prefetched file elsewhere only once its worker says it dropped it', async () => {
    const received: string[] = []
    let cancels = 0
    const aStarted = signal()
    const factory: IsolateFactory = (_spec, events) => {
      const index = received.length === 0 ? 0 : 1
      setImmediate(() => events.message({ type: 'ready', pid: 1, threadId: index }))
      return {
        description: 'fake',
        send: (message) => {
          if (message.type === 'cancel') {
            cancels++
            // The worker still has it queued: it drops it and says so.
            setImmediate(() => events.message({ type: 'cancelled', taskId: message.taskId }))
            return
          }
          received.push(`${index}:${message.file.slice(ROOT.length + 1)}`)
          // Worker 0 begins a.ts (which hangs) and keeps b.ts queued behind it; worker 1 imports b.ts.
          if (message.file.endsWith('a.ts')) {
            setImmediate(() => events.message({ type: 'started', taskId: message.taskId }))
            afterDelivery(aStarted.fire)
          } else if (index === 1)
            setImmediate(() => {
              events.message({ type: 'started', taskId: message.taskId })
              events.message({ type: 'imported', taskId: message.taskId, manifest: manifestFor(message.file) })
            })
        },
        kill: () => setImmediate(() => events.exit({ code: 1, signal: null, oom: false })),
        unref: () => {},
        ref: () => {},
        takeOutput: () => '',
      }
    }
    const p = pool(factory, { timeoutMs: 400 })
    const a = p.run(`${ROOT}/a.ts`) // hangs until its deadline
    await aStarted.promise
    const b = p.run(`${ROOT}/b.ts`)
    expect(await b).toMatchObject({ kind: 'imported', manifest: { file: `${ROOT}/b.ts` } })
    expect(cancels).toBe(1)
    // Handed to the first worker in advance, then, once dropped, to another: imported once there.
    expect(received).toEqual(['0:a.ts', '0:b.ts', '1:b.ts'])
    expect(failed(await a)?.status).toBe('timeout')
    await p.close()
  })

  it('leaves a file handed over in advance with its worker while the file before it lingers: evaluated there, once', async () => {
    const received: string[] = []
    const aStarted = signal()
    const { factory, spawned } = fakes(
      (request, worker) => {
        received.push(`${worker.index}:${request.file.slice(ROOT.length + 1)}`)
        if (request.file.endsWith('a.ts')) {
          worker.say({ type: 'started', taskId: request.taskId })
          afterDelivery(aStarted.fire)
        }
      },
      {
        // Any worker started for the lingering file would still be booting.
        ready: (index) => index === 0 || 'never',
        // The pool asks for b.ts back once a.ts lingers. This worker never answers that: it had
        // begun b.ts already, and says so as it reports a.ts; then it reports b.ts.
        cancel: (request, worker) => {
          worker.say({ type: 'imported', taskId: request.taskId - 1, manifest: manifestFor(`${ROOT}/a.ts`), next: request.taskId })
          worker.say({ type: 'imported', taskId: request.taskId, manifest: manifestFor(`${ROOT}/b.ts`) })
        },
      },
    )
    const p = pool(factory, { timeoutMs: 400 })
    const a = p.run(`${ROOT}/a.ts`)
    await aStarted.promise
    const b = p.run(`${ROOT}/b.ts`)
    expect(await a).toMatchObject({ kind: 'imported' })
    expect(await b).toMatchObject({ kind: 'imported', manifest: { file: `${ROOT}/b.ts` } })
    // b.ts went to worker 0 only (this worker never answers a "cancel"), and no other was needed.
    expect(received).toEqual(['0:a.ts', '0:b.ts'])
    expect(spawned()).toBe(1)
    await p.close()
  })

  it('kills a hanging file at its deadline while another worker\'s large manifest is being validated', async () => {
    // A manifest large enough that validating it at once holds this thread well past the deadline.
    const manifestOf = (file: string, count: number): FileManifest => ({
      ...manifestFor(file),
      workflows: Array.from({ length: count }, (_, w) => ({
        name: `wf${w}`,
        exportName: `wf${w}`,
        workflow: { format: 'nexflow.workflow/v1', name: `wf${w}`, description: '', nodes: Array.from({ length: 10 }, (_, i) => ({ id: `n${i}`, type: 'Function', params: { code: '() => 1', w } })), connections: [], inputSchema: {} },
      })),
    })
    const TIMEOUT_MS = 100
    let count = 5000
    let validateMs = 0
    // Built before the run: building it while a.ts's deadline runs would hold this thread too.
    let bigManifest = manifestOf(`${ROOT}/big.ts`, 0)
    for (; count <= 160_000; count *= 2) {
      bigManifest = manifestOf(`${ROOT}/big.ts`, count)
      const message = { type: 'imported', taskId: 1, manifest: bigManifest }
      workerToMainMessageSchema.safeParse(message) // once to warm up, as the pool's validation would be
      const started = performance.now()
      workerToMainMessageSchema.safeParse(message)
      validateMs = performance.now() - started
      if (validateMs > 4 * TIMEOUT_MS) break
    }
    const aStarted = signal()
    const { factory } = fakes((request, worker) => {
      worker.say({ type: 'started', taskId: request.taskId })
      if (request.file.endsWith('a.ts')) afterDelivery(aStarted.fire) // and hangs
      // big.ts reports as soon as a.ts began: a.ts's deadline comes while big.ts is validated.
      else void aStarted.promise.then(() => worker.say({ type: 'imported', taskId: request.taskId, manifest: bigManifest }))
    })
    const p = pool(factory, { concurrency: 2, timeoutMs: TIMEOUT_MS, init: { root: ROOT, maxManifestBytes: 1 << 30 } })
    const [a, big] = await Promise.all([p.run(`${ROOT}/a.ts`), p.run(`${ROOT}/big.ts`)])
    expect(big).toMatchObject({ kind: 'imported' })
    expect(big.kind === 'imported' && big.manifest.workflows.length).toBe(bigManifest.workflows.length)
    const lateMs = (failed(a)?.error.details?.killedAfterMs as number) - TIMEOUT_MS
    // Validated at once, the kill would come about validateMs late; in pieces, a piece late.
    expect(lateMs, `kill ${lateMs.toFixed(1)} ms late; validating at once takes ${validateMs.toFixed(0)} ms`).toBeLessThan(validateMs / 2)
    await p.close()
  })

  it('measures and checks a manifest validated in pieces exactly as one validated at once', async () => {
    const workflows = Array.from({ length: 300 }, (_, w) => ({
      name: `wf${w}`,
      exportName: `wf${w}`,
      workflow: { format: 'nexflow.workflow/v1', name: `wf${w}`, description: 'é', nodes: [{ id: 'n', type: 'Function', params: { code: '() => 1' } }], connections: [], inputSchema: {} },
    }))
    const manifest = { ...manifestFor(`${ROOT}/a.ts`), workflows }
    const full = JSON.stringify(manifest).length
    const answer = (limit: number) =>
      pool(
        fakes((request, worker) => {
          worker.say({ type: 'started', taskId: request.taskId })
          worker.say({ type: 'imported', taskId: request.taskId, manifest: { ...manifest, file: request.file } })
        }).factory,
        { init: { root: ROOT, maxManifestBytes: limit } },
      )
    const atLimit = answer(full)
    expect(await atLimit.run(`${ROOT}/a.ts`)).toMatchObject({ kind: 'imported', manifest: { workflows: { length: 300 } } })
    await atLimit.close()
    const below = answer(full - 1)
    expect(failed(await below.run(`${ROOT}/a.ts`))?.error.message).toContain(`a manifest of ${full} bytes, over the ${full - 1}-byte limit`)
    await below.close()

    // A bad workflow among them fails the file as one validated at once would, naming it.
    const bad = pool(
      fakes((request, worker) => {
        worker.say({ type: 'started', taskId: request.taskId })
        worker.say({ type: 'imported', taskId: request.taskId, manifest: { ...manifest, file: request.file, workflows: workflows.map((w, i) => (i === 280 ? { ...w, name: '' } : w)) } })
      }).factory,
      { init: { root: ROOT, maxManifestBytes: 1 << 30 } },
    )
    expect(failed(await bad.run(`${ROOT}/a.ts`))).toMatchObject({ status: 'invalid', error: { code: 'DISCOVERY_MANIFEST_INVALID', message: expect.stringContaining('manifest.workflows.280.name') } })
    await bad.close()
  })

  it('hands a file to a fresh worker once if its worker never begins it', async () => {
    const { factory, spawned } = fakes((request, worker) => {
      if (worker.index === 0) return // silent: never says "started"
      worker.say({ type: 'started', taskId: request.taskId })
      worker.say({ type: 'imported', taskId: request.taskId, manifest: manifestFor(request.file) })
    })
    const p = pool(factory)
    expect(await p.run(`${ROOT}/a.ts`)).toMatchObject({ kind: 'imported' })
    expect(spawned()).toBe(2)
    await p.close()
  }, 15_000)

  it('does not blame a file handed in advance to a worker that dies before beginning it', async () => {
    let firstStarted = () => {}
    const started = new Promise<void>((resolve) => (firstStarted = resolve))
    const { factory, spawned } = fakes((request, worker) => {
      if (worker.index === 0 && request.file.endsWith('a.ts')) {
        worker.say({ type: 'started', taskId: request.taskId })
        firstStarted()
      } else if (worker.index === 0) {
        // Handed b.ts in advance: it answers for a.ts, then something a.ts left ends the worker.
        worker.say({ type: 'imported', taskId: request.taskId - 1, manifest: manifestFor(`${ROOT}/a.ts`) })
        worker.die(7)
      } else {
        worker.say({ type: 'started', taskId: request.taskId })
        worker.say({ type: 'imported', taskId: request.taskId, manifest: manifestFor(request.file) })
      }
    })
    const p = pool(factory)
    const a = p.run(`${ROOT}/a.ts`)
    await started
    // Once the pool has read "started" for a.ts, it hands b.ts over in advance.
    await new Promise((resolve) => setImmediate(resolve))
    const b = p.run(`${ROOT}/b.ts`)
    expect(await a).toMatchObject({ kind: 'imported' })
    expect(await b).toMatchObject({ kind: 'imported', manifest: { file: `${ROOT}/b.ts` } })
    expect(spawned()).toBe(2)
    await p.close()
  })

  it('gives up with "crashed" when workers cannot start at all, and marks the files unattempted', async () => {
    const { factory, spawned } = fakes(() => {}, { ready: () => false })
    const p = pool(factory)
    expect(failed(await p.run(`${ROOT}/a.ts`))).toMatchObject({ status: 'crashed', unattempted: true, error: { message: expect.stringContaining('discovery workers fail to start') } })
    expect(failed(await p.run(`${ROOT}/b.ts`))).toMatchObject({ status: 'crashed', unattempted: true })
    expect(spawned()).toBe(3)
    await p.close()
  })

  it.each([
    ['thread', 'stuck'],
    ['process', 'timeout'],
  ] as const)('a %s not seen exiting within the grace after the deadline is %s (a killed process is never stuck)', async (isolation, status) => {
    const { factory } = fakes((request, worker) => worker.say({ type: 'started', taskId: request.taskId }), { killable: false })
    const p = pool(factory, { isolation, timeoutMs: 50, stuckGraceMs: 0 })
    expect(failed(await p.run(`${ROOT}/a.ts`))).toMatchObject({ status, error: { code: status === 'stuck' ? 'DISCOVERY_STUCK' : 'DISCOVERY_TIMEOUT' } })
    await p.close()
  })

  it('resolves pending files as cancelled when closed', async () => {
    let began = () => {}
    const handedOut = new Promise<void>((resolve) => (began = resolve))
    const { factory } = fakes((request, worker) => {
      worker.say({ type: 'started', taskId: request.taskId })
      began()
    })
    const p = pool(factory)
    const pending = [p.run(`${ROOT}/a.ts`), p.run(`${ROOT}/b.ts`)]
    await handedOut
    await p.close()
    expect(await Promise.all(pending)).toEqual([{ kind: 'cancelled' }, { kind: 'cancelled' }])
    expect(await p.run(`${ROOT}/c.ts`)).toEqual({ kind: 'cancelled' })
  })
})
