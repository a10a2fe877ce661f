import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import { defineNode, FunctionNode, LocalRuntime, NodeRegistry, ValidationError, WorkflowBuilder } from '../../../src/index.js'
import { callerInputSchema } from '../../../src/workflow/caller-inputs.js'

// Stand-ins with the params of a DataFlow List and BulkDelete, to watch what a caller can reach.
const List = defineNode({
  type: 'List',
  params: z.object({ filter: z.record(z.string(), z.unknown()).optional(), limit: z.number().int().default(10) }),
  run: (params) => ({ params }),
})
const BulkDelete = defineNode({
  type: 'BulkDelete',
  params: z.object({ filter: z.record(z.string(), z.unknown()), confirmed: z.boolean().default(false) }),
  run: (params) => ({ params }),
})
const Create = defineNode({ type: 'Create', params: z.object({ email: z.string(), name: z.string().optional() }), run: (params) => ({ params }) })

const registry = new NodeRegistry()
registry.register(List)
registry.register(BulkDelete)
registry.register(Create)
registry.register(FunctionNode)
const runtime = new LocalRuntime({ registry })
const builder = () => new WorkflowBuilder({ registry })

async function rejection(promise: Promise<unknown>): Promise<ValidationError> {
  const error = await promise.then(() => undefined, (thrown: unknown) => thrown)
  expect(error).toBeInstanceOf(ValidationError)
  return error as ValidationError
}

describe('remote callers fill declared inputs only', () => {
  const fn = builder().addNode('Function', 'f', { code: '() => ({ who: "author" })', x: '${x}' }).build({ name: 'fn' })

  it("a Function node's code is not an input: the caller's code is refused, never run", async () => {
    const error = await rejection(runtime.execute(fn, { parameters: { x: 1, code: '() => ({ who: process.pid })' }, caller: 'remote' }))
    expect(error.message).toContain('input "code" is not an input of this workflow')
  })

  it('the same call from the app itself keeps the source system semantics (injected)', async () => {
    const { results } = await runtime.execute(fn, { parameters: { x: 1, code: '() => ({ who: "app" })' } })
    expect(results.f).toEqual({ who: 'app' })
  })

  it("a configured List filter is not replaced, and a node-specific override is refused", async () => {
    const wf = builder().addNode('List', 'list', { filter: { owner: '${owner}' } }).build({ name: 'mine' })
    await rejection(runtime.execute(wf, { parameters: { owner: 'ada', filter: {} }, caller: 'remote' }))
    await rejection(runtime.execute(wf, { parameters: { owner: 'ada', list: { filter: {} } }, caller: 'remote' }))
    const { results } = await runtime.execute(wf, { parameters: { owner: 'ada' }, caller: 'remote' })
    expect(results.list).toEqual({ params: { filter: { owner: 'ada' }, limit: 10 } })
  })

  it('an optional param the author left unset (confirmed, limit) is not an input for a remote caller', async () => {
    const wf = builder().addNode('BulkDelete', 'purge', { filter: { id: '${id}' } }).build({ name: 'purge' })
    expect(Object.keys((callerInputSchema(wf.inputSchema).properties as object))).toEqual(['id'])
    const error = await rejection(runtime.execute(wf, { parameters: { id: 'u1', confirmed: true }, caller: 'remote' }))
    expect(error.message).toContain('input "confirmed"')
    const { results } = await runtime.execute(wf, { parameters: { id: 'u1' }, caller: 'remote' })
    expect(results.purge).toEqual({ params: { filter: { id: 'u1' }, confirmed: false } })
  })

  it('a required param nobody set is a declared input; a missing or mistyped one names the input', async () => {
    const wf = builder().addNode('Create', 'create', { name: '${name}' }).build({ name: 'create' })
    expect((await runtime.execute(wf, { parameters: { email: 'a@b.co', name: 'Ada' }, caller: 'remote' })).results.create).toEqual({ params: { email: 'a@b.co', name: 'Ada' } })
    expect((await rejection(runtime.execute(wf, { parameters: { name: 'Ada' }, caller: 'remote' }))).message).toContain('input "email"')
    expect((await rejection(runtime.execute(wf, { parameters: { email: 5, name: 'Ada' }, caller: 'remote' }))).message).toContain('input "email"')
  })

  it.each(['__proto__', 'constructor', 'prototype'])('a %s key anywhere in the inputs is refused', async (key) => {
    const wf = builder().addNode('Create', 'create', { email: '${email}' }).build({ name: 'c' })
    const parameters = JSON.parse(`{ "email": "a@b.co", "nested": { "${key}": { "polluted": true } } }`) as Record<string, unknown>
    const error = await rejection(runtime.execute(wf, { parameters: { email: { deep: parameters.nested } }, caller: 'remote' }))
    expect(error.message).toContain(`key "${key}"`)
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
  })

  it('an over-long key is refused', async () => {
    const wf = builder().addNode('Create', 'create', { email: '${email}' }).build({ name: 'c' })
    const error = await rejection(runtime.execute(wf, { parameters: { email: 'a@b.co', ['k'.repeat(300)]: 1 }, caller: 'remote' }))
    expect(error.message).toContain('longer than 256 characters')
  })

  // Regression: a template inside a configured filter took any JSON, so { $ne: ... } widened it.
  it('a template inside a shaped param takes a value or a list of values, never an object', async () => {
    const wf = builder().addNode('List', 'list', { filter: { owner: '${owner}', id: { $in: '${ids}' } } }).build({ name: 'mine' })
    const error = await rejection(runtime.execute(wf, { parameters: { owner: { $ne: 'nobody' }, ids: ['a'] }, caller: 'remote' }))
    expect(error.message).toContain('input "owner"')
    const { results } = await runtime.execute(wf, { parameters: { owner: 'ada', ids: ['a', 'b'] }, caller: 'remote' })
    expect(results.list).toEqual({ params: { filter: { owner: 'ada', id: { $in: ['a', 'b'] } }, limit: 10 } })
  })

  // Regression: a missing input of a template inside an optional param dropped the whole filter.
  it('a missing input of a template inside an optional param fails the run, for every caller', async () => {
    const wf = builder().addNode('List', 'list', { filter: { owner: '${owner}' } }).build({ name: 'mine' })
    expect((await rejection(runtime.execute(wf, { parameters: {}, caller: 'remote' }))).message).toContain('input "owner" is required')
    await expect(runtime.execute(wf, { parameters: {} })).rejects.toMatchObject({ code: 'MISSING_INPUT' })
  })

  // Regression: a Function node whose author left `code` unset made `code` a declared input, so a
  // remote caller could send it and run any JavaScript.
  it("a literal param left unset (a Function node without code) is never a remote caller's input", async () => {
    const wf = builder().addNode('Function', 'f', { x: '${x}' }).build({ name: 'open' })
    expect(Object.keys(callerInputSchema(wf.inputSchema).properties as object)).toEqual(['x'])
    const error = await rejection(runtime.execute(wf, { parameters: { x: 1, code: '() => ({ pid: process.pid })' }, caller: 'remote' }))
    expect(error.message).toContain('input "code" is not an input of this workflow')
  })

  it('an input failing a format and the pattern behind it is one problem in the message', async () => {
    const Mail = defineNode({ type: 'Mail', params: z.object({ to: z.string().email() }), run: (params) => ({ params }) })
    const registry2 = new NodeRegistry()
    registry2.register(Mail)
    const wf = new WorkflowBuilder({ registry: registry2 }).addNode('Mail', 'm', { to: '${to}' }).build({ name: 'mail' })
    const error = await rejection(new LocalRuntime({ registry: registry2 }).execute(wf, { parameters: { to: 'not-an-email' }, caller: 'remote' }))
    expect(error.message).toBe('Workflow "mail" got invalid inputs: input "to": Invalid email address')
    expect(error.issues.length).toBeGreaterThan(0)
  })
})

describe('workflows that declare the same inputs', () => {
  it('share one validator, and each refusal still names its own workflow; other inputs are checked as their own', async () => {
    const make = (name: string, input: string) => builder().addNode('Create', 'c', { email: `\${${input}}` }).build({ name })
    const [a, b, other] = [make('signup-a', 'email'), make('signup-b', 'email'), make('signup-c', 'address')]
    expect((await runtime.execute(a, { parameters: { email: 'a@example.com' }, caller: 'remote' })).ok).toBe(true)
    const refusedB = await rejection(runtime.execute(b, { parameters: { email: 'b@example.com', extra: 1 }, caller: 'remote' }))
    expect(refusedB.message).toMatch(/^Workflow "signup-b" got invalid inputs: input "extra" is not an input of this workflow/)
    const refusedOther = await rejection(runtime.execute(other, { parameters: { email: 'c@example.com' }, caller: 'remote' }))
    expect(refusedOther.message).toMatch(/Workflow "signup-c".*input "email" is not an input of this workflow/)
    expect((await runtime.execute(other, { parameters: { address: 'c@example.com' }, caller: 'remote' })).ok).toBe(true)
  })
})
