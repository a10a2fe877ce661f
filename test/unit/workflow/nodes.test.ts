import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { LocalRuntime, WorkflowBuilder } from '../../../src/index.js'

const runtime = new LocalRuntime()

describe('Function node', () => {
  it('runs a function expression with its other params as inputs', async () => {
    const wf = new WorkflowBuilder().addNode('Function', 'add', { code: '({ a, b }) => ({ sum: a + b })', a: 2, b: 3 }).build({ name: 'f' })
    expect((await runtime.execute(wf)).results.add).toEqual({ sum: 5 })
  })

  it('runs a body that reads inputs, wrapping a non-object result', async () => {
    const wf = new WorkflowBuilder().addNode('Function', 'f', { code: 'return inputs.items.length', items: [1, 2, 3] }).build({ name: 'f' })
    expect((await runtime.execute(wf)).results.f).toEqual({ result: 3 })
  })

  it('awaits async functions', async () => {
    const wf = new WorkflowBuilder().addNode('Function', 'f', { code: 'async ({ x }) => ({ y: await Promise.resolve(x * 2) })', x: 4 }).build({ name: 'f' })
    expect((await runtime.execute(wf)).results.f).toEqual({ y: 8 })
  })
})

describe('Switch and Merge nodes', () => {
  const routed = () =>
    new WorkflowBuilder()
      .addNode('Switch', 'route', { field: 'amount', operator: '>', value: 100 })
      .addNode('Function', 'big', { code: '({ order }) => ({ label: "big " + order.id })' })
      .addNode('Function', 'small', { code: '({ order }) => ({ label: "small " + order.id })' })
      .addNode('Function', 'after-small', { code: '({ label }) => ({ again: label })' })
      .addNode('Merge', 'join', { strategy: 'first' })
      .addConnection('route', 'true_output', 'big', 'order')
      .addConnection('route', 'false_output', 'small', 'order')
      .addConnection('small', 'label', 'after-small', 'label')
      .addConnection('big', 'label', 'join', 'data1')
      .addConnection('small', 'label', 'join', 'data2')
      .build({ name: 'route' })

  it('runs only the branch taken and skips everything fed only by the other', async () => {
    const { results } = await runtime.execute(routed(), { parameters: { route: { input: { id: 'o1', amount: 500 } } } })
    expect(results.big).toEqual({ label: 'big o1' })
    expect(results).not.toHaveProperty('small')
    expect(results).not.toHaveProperty('after-small')
    expect(results.join).toEqual({ merged: 'big o1' })
  })

  it('takes the other branch for the other value', async () => {
    const { results } = await runtime.execute(routed(), { parameters: { route: { input: { id: 'o2', amount: 5 } } } })
    expect(results).not.toHaveProperty('big')
    expect(results['after-small']).toEqual({ again: 'small o2' })
    expect(results.join).toEqual({ merged: 'small o2' })
  })

  it('routes by cases with a default', async () => {
    const wf = new WorkflowBuilder().addNode('Switch', 's', { cases: ['gold', 'silver'], input: '${tier}' }).build({ name: 'cases' })
    expect((await runtime.execute(wf, { parameters: { tier: 'gold' } })).results.s).toEqual({ case_gold: 'gold', matched: 'gold' })
    expect((await runtime.execute(wf, { parameters: { tier: 'tin' } })).results.s).toEqual({ default: 'tin', matched: null })
  })

  it('merges by concat and by object', async () => {
    const wf = new WorkflowBuilder()
      .addNode('Merge', 'c', { strategy: 'concat', data1: [1, 2], data2: 3, data10: [9] })
      .addNode('Merge', 'o', { strategy: 'object', data1: { a: 1, b: 1 }, data2: { b: 2 } })
      .build({ name: 'merge' })
    const { results } = await runtime.execute(wf)
    expect(results.c).toEqual({ merged: [1, 2, 3, 9] })
    expect(results.o).toEqual({ merged: { a: 1, b: 2 } })
  })
})

describe('HTTPRequest node', () => {
  let server: Server
  let base: string
  beforeAll(async () => {
    server = createServer((req, res) => {
      let body = ''
      req.on('data', (chunk: Buffer) => (body += chunk.toString()))
      req.on('end', () => {
        if (req.url?.startsWith('/missing')) {
          res.writeHead(404).end('nope')
          return
        }
        res.writeHead(200, { 'content-type': 'application/json' })
        res.end(JSON.stringify({ method: req.method, url: req.url, body: body ? JSON.parse(body) : null, auth: req.headers.authorization ?? null }))
      })
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  })
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())))

  it('sends JSON with headers and query, and parses a JSON answer', async () => {
    const wf = new WorkflowBuilder()
      .addNode('HTTPRequest', 'post', { url: `${base}/items`, method: 'POST', body: { name: '${name}' }, headers: { authorization: 'Bearer t' }, query: { page: 2 } })
      .build({ name: 'http' })
    const { results } = await runtime.execute(wf, { parameters: { name: 'lamp' } })
    expect(results.post).toMatchObject({ status: 200, ok: true, body: { method: 'POST', url: '/items?page=2', body: { name: 'lamp' }, auth: 'Bearer t' } })
  })

  it('fails on a non-2xx status unless told not to', async () => {
    const failing = new WorkflowBuilder().addNode('HTTPRequest', 'get', { url: `${base}/missing` }).build({ name: 'h' })
    expect((await runtime.execute(failing)).results.get).toMatchObject({ failed: true, error: expect.stringContaining('404') })
    const tolerant = new WorkflowBuilder().addNode('HTTPRequest', 'get', { url: `${base}/missing`, throwOnHttpError: false }).build({ name: 'h' })
    expect((await runtime.execute(tolerant)).results.get).toMatchObject({ status: 404, ok: false, body: 'nope' })
  })
})

describe('Function node code is never template-expanded', () => {
  it('keeps JavaScript template literals in code intact', async () => {
    const wf = new WorkflowBuilder().addNode('Function', 'f', { code: '({ name }) => ({ text: `hi ${name}` })', name: '${who}' }).build({ name: 'lit' })
    expect(Object.keys((wf.inputSchema as { properties: object }).properties)).toEqual(['who'])
    expect((await runtime.execute(wf, { parameters: { who: 'Ada' } })).results.f).toEqual({ text: 'hi Ada' })
  })
})
