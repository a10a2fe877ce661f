import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import { defineNode, LocalRuntime, NexflowError, NodeRegistry, WorkflowBuilder } from '../../../src/index.js'

// A node that reports the params it received, to observe templates and precedence.
const Probe = defineNode({
  type: 'Probe',
  params: z.object({
    email: z.string().optional(),
    count: z.number().optional(),
    label: z.string().optional(),
    tags: z.array(z.string()).optional(),
    greeting: z.string().default('hello'),
    required: z.string().optional(),
    value: z.string().optional(),
  }),
  run: (params) => ({ params }),
})
const Strict = defineNode({ type: 'Strict', params: z.object({ to: z.string(), note: z.string().optional() }), run: (p) => ({ p }) })
const Source = defineNode({ type: 'Source', params: z.object({}), run: () => ({ out: { value: 'from-connection' } }) })

const registry = new NodeRegistry()
for (const node of [Probe, Strict, Source]) registry.register(node)
const runtime = new LocalRuntime({ registry })
const builder = () => new WorkflowBuilder({ registry })

async function paramsOf(params: Record<string, unknown>, parameters: Record<string, unknown>) {
  const wf = builder().addNode('Probe', 'p', params).build({ name: 't' })
  const { results } = await runtime.execute(wf, { parameters })
  return (results.p as { params: Record<string, unknown> }).params
}

describe('templates', () => {
  it('a whole-string template keeps the input type', async () => {
    expect(await paramsOf({ count: '${n}', tags: '{{tags}}' }, { n: 42, tags: ['a', 'b'] })).toMatchObject({ count: 42, tags: ['a', 'b'] })
  })

  it('an embedded template becomes a string, in both syntaxes', async () => {
    expect(await paramsOf({ label: 'user ${id} is {{ name }}' }, { id: 7, name: 'Ada' })).toMatchObject({ label: 'user 7 is Ada' })
  })

  it('reaches into object inputs with dotted names and into nested params', async () => {
    expect(await paramsOf({ email: '${user.email}', tags: ['x', '{{user.role}}'] }, { user: { email: 'a@b.c', role: 'admin' } })).toMatchObject({
      email: 'a@b.c',
      tags: ['x', 'admin'],
    })
  })

  it('a missing input for a required param names the node, the param and the input', async () => {
    const wf = builder().addNode('Strict', 'send', { to: 'mailto:{{email}}' }).build({ name: 't' })
    const error = await runtime.execute(wf, { parameters: {} }).catch((e: unknown) => e as NexflowError)
    expect(error).toBeInstanceOf(NexflowError)
    expect(error).toMatchObject({ code: 'MISSING_INPUT', details: { nodeId: 'send', param: 'to', input: 'email' } })
    expect((error as Error).message).toContain('"send"')
  })

  it('never stores the literal template text', async () => {
    const wf = builder().addNode('Strict', 'send', { to: '{{email}}' }).build({ name: 't' })
    await expect(runtime.execute(wf)).rejects.toThrow(/template input "email"/)
  })

  it('drops an optional param whose input is missing, so its default applies', async () => {
    const params = await paramsOf({ greeting: '{{salutation}}', label: 'x${missing}' }, {})
    expect(params.greeting).toBe('hello')
    expect(params).not.toHaveProperty('label')
  })

  it('checks every template before any node runs', async () => {
    let ran = false
    const reg = new NodeRegistry()
    reg.register(Strict)
    reg.register(defineNode({ type: 'Side', params: z.object({}), run: () => ((ran = true), {}) }))
    const wf = new WorkflowBuilder({ registry: reg }).addNode('Side', 'first').addNode('Strict', 'later', { to: '${nope}' }).build({ name: 't' })
    await expect(new LocalRuntime({ registry: reg }).execute(wf)).rejects.toMatchObject({ code: 'MISSING_INPUT' })
    expect(ran).toBe(false)
  })
})

describe('input precedence', () => {
  const wf = () => builder().addNode('Source', 'src').addNode('Probe', 'p', { value: 'config', label: 'config', email: 'config', greeting: 'config' }).addConnection('src', 'out.value', 'p', 'value').build({ name: 'precedence' })

  it('connection outputs > node-specific inputs > workflow-level inputs > node config', async () => {
    const { results } = await runtime.execute(wf(), {
      parameters: { value: 'workflow', label: 'workflow', email: 'workflow', p: { value: 'node', label: 'node' } },
    })
    expect((results.p as { params: Record<string, unknown> }).params).toMatchObject({
      value: 'from-connection',
      label: 'node',
      email: 'workflow',
      greeting: 'config',
    })
  })

  it('injects workflow-level inputs only into nodes that declare the param', async () => {
    const w = builder().addNode('Strict', 's', { to: 'x' }).build({ name: 't' })
    const { results } = await runtime.execute(w, { parameters: { note: 'n', unrelated: 1 } })
    expect(results.s).toEqual({ p: { to: 'x', note: 'n' } })
  })
})

describe('input schema', () => {
  it('is derived from templates and the zod types of the params they feed', () => {
    const Typed = defineNode({
      type: 'Typed',
      params: z.object({ email: z.string().email(), age: z.number().int().optional(), at: z.date().optional(), note: z.string() }),
      run: () => ({}),
    })
    const reg = new NodeRegistry()
    reg.register(Typed)
    const wf = new WorkflowBuilder({ registry: reg }).addNode('Typed', 'n', { email: '{{email}}', age: '${age}', note: 'hi ${who}' }).build({ name: 's' })
    const schema = wf.inputSchema as { properties: Record<string, Record<string, unknown>>; required: string[] }
    expect(schema.properties.email).toMatchObject({ type: 'string', format: 'email' })
    expect(schema.properties.age).toMatchObject({ type: 'integer' })
    expect(schema.properties.who).toMatchObject({ type: ['string', 'number', 'boolean'] })
    // `at` is a declared param nothing fills: a workflow-level input the runtime would inject.
    expect(schema.properties.at).toMatchObject({ type: 'string', format: 'date-time' })
    expect(schema.required).toEqual(['email', 'who'])
  })

  it('leaves out params filled by config or connections', () => {
    const wf = builder().addNode('Source', 'src').addNode('Strict', 's', { to: 'x' }).addConnection('src', 'out', 's', 'note').build({ name: 't' })
    expect(Object.keys((wf.inputSchema as { properties: object }).properties)).toEqual([])
  })
})
