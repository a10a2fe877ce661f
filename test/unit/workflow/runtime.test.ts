import { setTimeout as sleep } from 'node:timers/promises'
import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import { defineNode, LocalRuntime, NodeRegistry, WorkflowAbortedError, WorkflowBuilder, WorkflowExecutionError } from '../../../src/index.js'
import { failedRunError } from '../../../src/workflow/failed-run.js'

const spans: Record<string, { start: number; end: number }> = {}
const Slow = defineNode({
  type: 'Slow',
  params: z.object({ ms: z.number(), tag: z.string() }),
  async run({ ms, tag }, { signal }) {
    const start = performance.now()
    await sleep(ms, undefined, { signal }).catch(() => undefined)
    spans[tag] = { start, end: performance.now() }
    return { tag }
  },
})
const Fail = defineNode({
  type: 'Fail',
  params: z.object({ message: z.string().default('boom'), raw: z.boolean().default(false) }),
  run({ message, raw }) {
    // A node that throws a bare string, as careless user code does.
    // eslint-disable-next-line @typescript-eslint/only-throw-error
    if (raw) throw message
    throw new RangeError(message)
  },
})
const Value = defineNode({ type: 'Value', params: z.object({ value: z.unknown() }), run: ({ value }) => ({ value }) })
const Unsuccessful = defineNode({ type: 'Unsuccessful', params: z.object({}), run: () => ({ success: false, error: 'quota exceeded' }) })
const NotAnObject = defineNode({ type: 'NotAnObject', params: z.object({}), run: () => 42 as unknown as Record<string, unknown> })
const Typed = defineNode({ type: 'Typed', params: z.object({ count: z.number().int().min(1) }), run: ({ count }) => ({ count }) })
let hung: AbortSignal | undefined
const Hang = defineNode({
  type: 'Hang',
  params: z.object({}),
  run: (_p, { signal }) => {
    hung = signal
    return new Promise(() => undefined)
  },
})

const registry = new NodeRegistry()
for (const node of [Slow, Fail, Value, Unsuccessful, NotAnObject, Typed, Hang]) registry.register(node)
const runtime = new LocalRuntime({ registry })
const builder = () => new WorkflowBuilder({ registry })

describe('LocalRuntime', () => {
  it('returns each node output and a run id', async () => {
    const wf = builder().addNode('Value', 'a', { value: 1 }).addNode('Value', 'b').addConnection('a', 'value', 'b', 'value').build({ name: 'r' })
    const result = await runtime.execute(wf)
    expect(result.results).toEqual({ a: { value: 1 }, b: { value: 1 } })
    expect(result.runId).toMatch(/^[0-9a-f-]{36}$/)
  })

  it('runs two independent slow branches at the same time', async () => {
    const wf = builder().addNode('Slow', 'left', { ms: 150, tag: 'left' }).addNode('Slow', 'right', { ms: 150, tag: 'right' }).build({ name: 'parallel' })
    await runtime.execute(wf)
    const { left, right } = spans as Record<string, { start: number; end: number }>
    // Overlap: each branch starts before the other ends.
    expect(left!.start).toBeLessThan(right!.end)
    expect(right!.start).toBeLessThan(left!.end)
  })

  it('starts a node as soon as its own inputs are ready, not when a whole level is', async () => {
    const wf = builder()
      .addNode('Slow', 'fast', { ms: 10, tag: 'fast' })
      .addNode('Slow', 'slow', { ms: 200, tag: 'slow' })
      .addNode('Slow', 'after-fast', { ms: 10, tag: 'after-fast' })
      .addConnection('fast', 'tag', 'after-fast', 'unused')
      .build({ name: 'eager' })
    await runtime.execute(wf)
    expect(spans['after-fast']!.end).toBeLessThan(spans.slow!.end)
  })

  it('follows dotted output paths', async () => {
    const wf = builder().addNode('Value', 'a', { value: { result: { data: [1, 2] } } }).addNode('Value', 'b').addConnection('a', 'value.result.data', 'b', 'value').build({ name: 'dotted' })
    expect((await runtime.execute(wf)).results.b).toEqual({ value: [1, 2] })
  })

  it('fails the run when a node with downstream nodes fails, naming the node and keeping the cause', async () => {
    const wf = builder().addNode('Fail', 'bad').addNode('Value', 'next').addConnection('bad', 'x', 'next', 'value').build({ name: 'f' })
    const error = await runtime.execute(wf).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(WorkflowExecutionError)
    expect(error).toMatchObject({ nodeId: 'bad', code: 'WORKFLOW_EXECUTION_FAILED' })
    expect((error as Error).message).toContain('Node "bad" (Fail) failed: boom')
    expect((error as Error).cause).toBeInstanceOf(RangeError)
  })

  it('a failed leaf keeps its error\'s own code and cause, and the run\'s error carries them', async () => {
    const Driver = defineNode({
      type: 'Driver',
      params: z.object({}),
      run() {
        const busy = Object.assign(new Error('database is locked'), { code: 'SQLITE_BUSY' })
        throw Object.assign(new Error('could not save the user', { cause: busy }), { code: 'E_SAVE' })
      },
    })
    const registry = new NodeRegistry()
    registry.register(Driver)
    const wf = new WorkflowBuilder({ registry }).addNode('Driver', 'save', {}).build({ name: 'driver' })
    const result = await new LocalRuntime({ registry }).execute(wf)
    expect(result.results.save).toMatchObject({ error: 'could not save the user', code: 'E_SAVE', failed: true, cause: { message: 'database is locked', code: 'SQLITE_BUSY' } })
    expect(failedRunError(wf, result)).toMatchObject({
      code: 'WORKFLOW_EXECUTION_FAILED',
      details: { cause: { code: 'E_SAVE' } },
      cause: { message: 'could not save the user', code: 'E_SAVE', cause: { message: 'database is locked', code: 'SQLITE_BUSY' } },
    })
  })

  it('records a failed leaf and finishes the rest of the run', async () => {
    const wf = builder().addNode('Fail', 'leaf', { message: 'leaf broke' }).addNode('Value', 'ok', { value: 1 }).build({ name: 'leaf' })
    const { results } = await runtime.execute(wf)
    expect(results.leaf).toEqual({ error: 'leaf broke', errorType: 'RangeError', failed: true, stack: expect.stringContaining('leaf broke') })
    expect(results.ok).toEqual({ value: 1 })
  })

  it('records a thrown non-Error on a leaf too', async () => {
    const wf = builder().addNode('Fail', 'leaf', { message: 'just a string', raw: true }).build({ name: 'raw' })
    expect((await runtime.execute(wf)).results.leaf).toEqual({ error: 'just a string', errorType: 'string', failed: true })
  })

  it('stops the run when an output contains success: false', async () => {
    const wf = builder().addNode('Unsuccessful', 'u').addNode('Value', 'after', { value: 1 }).addConnection('u', 'x', 'after', 'value').build({ name: 's' })
    const error = (await runtime.execute(wf).catch((e: unknown) => e)) as WorkflowExecutionError
    expect(error).toBeInstanceOf(WorkflowExecutionError)
    expect(error.nodeId).toBe('u')
    expect(error.message).toContain('quota exceeded')
    expect(error.results).not.toHaveProperty('after')
  })

  it('validates params before run and names the node, the param and the zod issue', async () => {
    // The bad value arrives as an input: a bad config value is refused by build() already.
    const wf = builder().addNode('Typed', 'count-node', { count: '${count}' }).addNode('Value', 'x').addConnection('count-node', 'count', 'x', 'value').build({ name: 'v' })
    const error = (await runtime.execute(wf, { parameters: { count: 0 } }).catch((e: unknown) => e)) as WorkflowExecutionError
    expect(error.message).toMatch(/Node "count-node" \(Typed\) got invalid params: param "count": Too small/)
    expect(error.cause).toMatchObject({ code: 'VALIDATION_FAILED' })
  })

  it('fails when a node returns something other than an object', async () => {
    const wf = builder().addNode('NotAnObject', 'n').build({ name: 'o' })
    expect((await runtime.execute(wf)).results.n).toMatchObject({ failed: true, error: expect.stringContaining('returned number') })
  })

  it('fails on a node type the registry does not know', async () => {
    const wf = new WorkflowBuilder().addNode('Nope', 'n').build({ name: 'u' })
    await expect(runtime.execute(wf)).rejects.toMatchObject({ code: 'NODE_TYPE_UNKNOWN' })
  })

  it('stops promptly when the signal aborts, with a distinct error, and aborts the running nodes', async () => {
    const controller = new AbortController()
    const wf = builder().addNode('Hang', 'h').build({ name: 'abort' })
    const started = performance.now()
    setTimeout(() => controller.abort(), 50)
    const error = await runtime.execute(wf, { signal: controller.signal }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(WorkflowAbortedError)
    expect(error).toMatchObject({ code: 'WORKFLOW_ABORTED' })
    expect(performance.now() - started).toBeLessThan(2000)
    expect(hung?.aborted).toBe(true)
  })

  it('rejects at once when the signal is already aborted', async () => {
    const wf = builder().addNode('Value', 'v', { value: 1 }).build({ name: 'pre' })
    await expect(runtime.execute(wf, { signal: AbortSignal.abort() })).rejects.toMatchObject({ code: 'WORKFLOW_ABORTED' })
  })

  it('stops at the timeout with WORKFLOW_TIMEOUT', async () => {
    const wf = builder().addNode('Hang', 'h').build({ name: 'timeout' })
    const error = await runtime.execute(wf, { timeoutMs: 50 }).catch((e: unknown) => e)
    expect(error).toMatchObject({ code: 'WORKFLOW_TIMEOUT', name: 'WorkflowAbortedError' })
  })

  it('runs the same workflow concurrently without runs sharing state', async () => {
    const wf = builder().addNode('Value', 'a').addNode('Value', 'b').addConnection('a', 'value', 'b', 'value').build({ name: 'shared' })
    const runs = await Promise.all([1, 2, 3].map((value) => runtime.execute(wf, { parameters: { a: { value } } })))
    expect(runs.map((r) => r.results.b)).toEqual([{ value: 1 }, { value: 2 }, { value: 3 }])
    expect(new Set(runs.map((r) => r.runId)).size).toBe(3)
  })

  it('a node that reads its signal only after the run failed finds it aborted, and a spread context keeps it', async () => {
    let late: AbortSignal | undefined
    let spread: Record<string, unknown> | undefined
    const Late = defineNode({
      type: 'LateSignal',
      params: z.object({}),
      async run(_p, context) {
        await sleep(60)
        spread = { ...context }
        late = context.signal
        return {}
      },
    })
    const own = new NodeRegistry()
    for (const node of [Late, Fail]) own.register(node)
    const wf = new WorkflowBuilder({ registry: own }).addNode('LateSignal', 'late').addNode('Fail', 'fail').addNode('Fail', 'after').addConnection('fail', '', 'after', 'message').build({ name: 'late' })
    await expect(new LocalRuntime({ registry: own }).execute(wf)).rejects.toMatchObject({ code: 'WORKFLOW_EXECUTION_FAILED' })
    await sleep(100)
    expect(late?.aborted).toBe(true)
    expect(late?.reason).toMatchObject({ code: 'WORKFLOW_EXECUTION_FAILED' })
    expect(spread?.signal).toBe(late)
  })

  it('runs a node type replaced between two runs of the same workflow with the new definition', async () => {
    const own = new NodeRegistry()
    own.register(defineNode({ type: 'Swap', params: z.object({ n: z.number() }), run: ({ n }) => ({ version: 1, n }) }))
    const ownRuntime = new LocalRuntime({ registry: own })
    const wf = new WorkflowBuilder({ registry: own }).addNode('Swap', 's', { n: '${n}' }).build({ name: 'swap' })
    expect((await ownRuntime.execute(wf, { parameters: { n: 1 } })).results.s).toEqual({ version: 1, n: 1 })
    // The new definition also declares a param the old one did not: it is injected from the inputs.
    own.register(defineNode({ type: 'Swap', params: z.object({ n: z.number(), m: z.number() }), run: ({ n, m }) => ({ version: 2, n, m }) }), { replace: true })
    expect((await ownRuntime.execute(wf, { parameters: { n: 2, m: 3 } })).results.s).toEqual({ version: 2, n: 2, m: 3 })
    own.unregister('Swap')
    await expect(ownRuntime.execute(wf, { parameters: { n: 3 } })).rejects.toMatchObject({ code: 'NODE_TYPE_UNKNOWN' })
  })

  it('gives each run its own copy of nested params that templates fill', async () => {
    const wf = builder().addNode('Value', 'v', { value: { user: '${user}', fixed: [1, 2] } }).build({ name: 'nested' })
    const [one, two] = await Promise.all([runtime.execute(wf, { parameters: { user: 'ada' } }), runtime.execute(wf, { parameters: { user: 'bob' } })])
    expect(one?.results.v).toEqual({ value: { user: 'ada', fixed: [1, 2] } })
    expect(two?.results.v).toEqual({ value: { user: 'bob', fixed: [1, 2] } })
    expect(wf.nodes[0]?.params).toEqual({ value: { user: '${user}', fixed: [1, 2] } })
  })

  // Regression: a 1.5 s busy loop under timeoutMs: 100 came back as a success after 1501 ms.
  it('a node that blocks past timeoutMs fails the run with WORKFLOW_TIMEOUT, never a success', async () => {
    const wf = new WorkflowBuilder().addNode('Function', 'spin', { code: '() => { const end = Date.now() + 300; while (Date.now() < end) {} return { done: true } }' }).build({ name: 'spin' })
    await expect(new LocalRuntime().execute(wf, { timeoutMs: 50 })).rejects.toMatchObject({ code: 'WORKFLOW_TIMEOUT' })
  })
})
