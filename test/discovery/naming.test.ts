import { join } from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import { discover, type DiscoveryReport, type FileResult } from '../../src/discovery/index.js'
import { byPath, FIXTURES } from './helpers.js'

const BASIC = join(FIXTURES, 'discovery', 'basic')

describe('what discovery collects from a healthy app', () => {
  let report: DiscoveryReport
  let files: Record<string, FileResult>
  beforeAll(async () => {
    report = await discover({ root: BASIC, cache: false }).report
    files = byPath(report)
  })

  it('finds the candidates the default patterns match, skipping the default ignores', () => {
    expect(report.files.map((file) => file.relativePath)).toEqual([
      'src/billing.workflow.ts',
      'workflows/greet.ts',
      'workflows/models.ts',
      'workflows/nodes.ts',
      'workflows/orders.ts',
      'workflows/plain-too.cjs',
      'workflows/plain.cjs',
      'workflows/typed.cts',
      'workflows/uses-models.ts',
    ])
    expect(report.ok).toBe(true)
  })

  it('names workflows: explicit build({ name }) wins, stem exports take the stem, others <stem>.<export>', () => {
    expect(files['workflows/greet.ts']?.workflows).toEqual(['greet'])
    expect(files['workflows/orders.ts']?.workflows).toEqual(['place-order', 'orders.refund'])
    expect(files['workflows/nodes.ts']?.workflows).toEqual(['nodes'])
    expect(files['src/billing.workflow.ts']?.workflows).toEqual(['billing.workflow'])
    expect(report.workflows).toEqual(['billing.workflow', 'greet', 'nodes', 'orders.refund', 'place-order', 'uses-models'])
  })

  it('never calls an exported function', () => {
    // orders.ts exports makeWorkflow(), which throws if called.
    expect(files['workflows/orders.ts']).toMatchObject({ status: 'ok' })
    expect(files['workflows/orders.ts']?.manifest?.workflows.map((w) => w.exportName)).toEqual(['workflow', 'refund'])
  })

  it('describes each workflow as its JSON form, with its input schema', () => {
    const greet = files['workflows/greet.ts']?.manifest?.workflows[0]
    expect(greet).toMatchObject({ name: 'greet', exportName: 'default', workflow: { name: 'greet', nodes: [{ id: 'hello', type: 'Function' }] } })
    expect(greet?.workflow.inputSchema).toMatchObject({ properties: { name: {} } })
  })

  it('collects node types with the JSON Schema of their params', () => {
    expect(files['workflows/nodes.ts']?.manifest?.nodeTypes).toEqual([
      { type: 'Shout', description: 'Upper-cases text', exportName: 'Shout', paramsSchema: expect.objectContaining({ type: 'object', properties: { text: { type: 'string' } } }) },
    ])
  })

  it('collects DataFlow instances created at import, also unexported ones, also by the modules a file imports', () => {
    expect(files['workflows/models.ts']).toMatchObject({ status: 'ok', models: ['User', 'Session'], workflows: [] })
    expect(files['workflows/models.ts']?.manifest?.dataflows).toHaveLength(1)
    expect(files['workflows/uses-models.ts']).toMatchObject({ status: 'ok', models: ['User', 'Session'], workflows: ['uses-models'] })
  })

  it('lists the local files each import loaded, with their hashes, including CommonJS requires', () => {
    const imports = (name: string) => files[name]?.manifest?.imports.map((entry) => entry.path)
    expect(imports('workflows/greet.ts')).toEqual([join(BASIC, 'lib', 'shared.ts')])
    expect(imports('workflows/orders.ts')).toEqual([join(BASIC, 'lib', 'shared.ts')])
    expect(imports('workflows/plain.cjs')).toEqual([join(BASIC, 'lib', 'helper.cjs')])
    expect(imports('workflows/plain-too.cjs')).toEqual([join(BASIC, 'lib', 'helper.cjs')])
    expect(imports('workflows/uses-models.ts')).toEqual([join(BASIC, 'lib', 'fake-dataflow.ts'), join(BASIC, 'workflows', 'models.ts')])
    expect(imports('workflows/models.ts')).toEqual([join(BASIC, 'lib', 'fake-dataflow.ts')])
    expect(files['workflows/greet.ts']?.manifest?.imports[0]?.hash).toMatch(/^[0-9a-f]{64}$/)
    expect(files['workflows/greet.ts']?.manifest?.hash).toMatch(/^[0-9a-f]{64}$/)
  })

  it('reports files without workflows or models as empty', () => {
    expect(files['workflows/plain.cjs']?.status).toBe('empty')
    expect(files['workflows/typed.cts']?.status).toBe('empty')
    expect(files['workflows/plain-too.cjs']?.status).toBe('empty')
  })

  it('describes each file by its own import graph, whatever the worker imported before', async () => {
    // One worker imports every file in turn, evaluating each shared module once: each file still
    // lists the modules it depends on, and the models they declare.
    const again = byPath(await discover({ root: BASIC, cache: false, concurrency: 1 }).report)
    for (const [path, result] of Object.entries(files)) {
      expect(again[path]?.manifest?.imports).toEqual(result.manifest?.imports)
      expect(again[path]?.models).toEqual(result.models)
    }
  })
})

describe('workflow name conflicts', () => {
  let report: DiscoveryReport
  let files: Record<string, FileResult>
  const streamed: FileResult[] = []
  beforeAll(async () => {
    const run = discover({ root: join(FIXTURES, 'discovery', 'conflicts'), cache: false })
    for await (const result of run) streamed.push(result)
    report = await run.report
    files = byPath(report)
  })

  it('reports both files that produce the same name, naming the other', () => {
    expect(files['workflows/first.ts']).toMatchObject({ status: 'conflict', workflows: ['shared-name'], error: { code: 'WORKFLOW_NAME_CONFLICT', message: expect.stringContaining('also produced by workflows/second.ts') } })
    expect(files['workflows/second.ts']).toMatchObject({ status: 'conflict', error: { message: expect.stringContaining('also produced by workflows/first.ts') } })
    // Both still carry their manifests: neither is dropped, neither wins.
    expect(files['workflows/first.ts']?.manifest?.workflows).toHaveLength(1)
    expect(files['workflows/second.ts']?.manifest?.workflows).toHaveLength(1)
    expect(report.ok).toBe(false)
    // Served by neither, so not among the report's workflows; every other name is.
    expect(report.workflows).toEqual(['alias'])
  })

  it('streams an updated result for the file reported first; the last report of a path wins', () => {
    const reports = (path: string) => streamed.filter((result) => result.relativePath === path)
    const first = reports('workflows/first.ts')
    const second = reports('workflows/second.ts')
    expect(first.length + second.length).toBe(3)
    expect(first.at(-1)?.status).toBe('conflict')
    expect(second.at(-1)?.status).toBe('conflict')
  })

  it('reports two exports of one file with the same name as a conflict', () => {
    expect(files['workflows/twice.ts']).toMatchObject({ status: 'conflict', error: { message: expect.stringContaining('"twice" (exports "one", "two")') } })
  })

  it('counts one builder exported under two names once', () => {
    expect(files['workflows/alias.ts']).toMatchObject({ status: 'ok', workflows: ['alias'] })
    expect(files['workflows/alias.ts']?.manifest?.workflows.map((w) => w.exportName)).toEqual(['default'])
  })
})
