import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import type { NexflowError} from '../../../src/index.js';
import { defineNode, NodeRegistry, Workflow, WorkflowBuilder } from '../../../src/index.js'

function buildError(builder: WorkflowBuilder): NexflowError {
  try {
    builder.build({ name: 'wf' })
  } catch (error) {
    return error as NexflowError
  }
  throw new Error('build() did not fail')
}

const fn = (code: string) => ({ code })

describe('WorkflowBuilder.build', () => {
  it('builds a workflow with nodes and connections', () => {
    const wf = new WorkflowBuilder()
      .addNode('Function', 'a', fn('() => ({ n: 1 })'))
      .addNode('Function', 'b', fn('({ n }) => ({ n: n + 1 })'))
      .addConnection('a', 'n', 'b', 'n')
      .build({ name: 'chain', description: 'two steps' })
    expect(wf.name).toBe('chain')
    expect(wf.description).toBe('two steps')
    expect(wf.nodes.map((n) => n.id)).toEqual(['a', 'b'])
    expect(wf.connections).toEqual([{ from: 'a', fromOutput: 'n', to: 'b', toInput: 'n' }])
  })

  it('fails on duplicate node ids', () => {
    const error = buildError(new WorkflowBuilder().addNode('Function', 'a', fn('1')).addNode('Function', 'a', fn('2')))
    expect(error.code).toBe('WORKFLOW_INVALID')
    expect(error.message).toContain('duplicate node id "a"')
  })

  it('fails on a connection to or from an unknown node', () => {
    const error = buildError(new WorkflowBuilder().addNode('Function', 'a', fn('1')).addConnection('a', 'x', 'ghost', 'y').addConnection('phantom', 'x', 'a', 'y'))
    expect(error.message).toContain('ends at unknown node "ghost"')
    expect(error.message).toContain('starts at unknown node "phantom"')
  })

  it('fails on a self-loop', () => {
    const error = buildError(new WorkflowBuilder().addNode('Function', 'a', fn('1')).addConnection('a', 'x', 'a', 'y'))
    expect(error.message).toContain('connects node "a" to itself')
  })

  it('fails on a duplicate connection', () => {
    const error = buildError(new WorkflowBuilder().addNode('Function', 'a', fn('1')).addNode('Function', 'b', fn('1')).addConnection('a', 'x', 'b', 'y').addConnection('a', 'x', 'b', 'y'))
    expect(error.message).toContain('duplicate connection a.x -> b.y')
  })

  it('fails on a cycle and names its nodes', () => {
    const error = buildError(
      new WorkflowBuilder()
        .addNode('Function', 'a', fn('1'))
        .addNode('Function', 'b', fn('1'))
        .addNode('Function', 'c', fn('1'))
        .addConnection('a', 'x', 'b', 'x')
        .addConnection('b', 'x', 'c', 'x')
        .addConnection('c', 'x', 'a', 'x'),
    )
    expect(error.message).toMatch(/cycle through nodes "a", "b", "c"/)
  })

  it('fails on unknown node types only when a registry is given', () => {
    const registry = new NodeRegistry()
    const error = buildError(new WorkflowBuilder({ registry }).addNode('Mystery', 'm'))
    expect(error.message).toContain('node "m" has unknown type "Mystery"')
    expect(() => new WorkflowBuilder().addNode('Mystery', 'm').build({ name: 'later' })).not.toThrow()
  })

  it('reports every problem at once', () => {
    const error = buildError(new WorkflowBuilder().addNode('Function', 'a', fn('1')).addNode('Function', 'a', fn('1')).addConnection('a', 'x', 'zz', 'y'))
    expect(error.details.problems).toHaveLength(2)
  })

  it('rejects params that are not plain JSON, pointing at defineNode', () => {
    expect(() => new WorkflowBuilder().addNode('Function', 'a', { code: 'x', cb: () => 1 })).toThrow(/params\.cb \(function\) is not plain JSON.*defineNode/)
    expect(() => new WorkflowBuilder().addNode('Function', 'a', { at: new Date() })).toThrow(/Date instance/)
  })

  it('accepts a node definition as the type and connect() with a mapping', () => {
    const source = defineNode({ type: 'Source', params: z.object({}), run: () => ({ result: { data: [1] } }) })
    const wf = new WorkflowBuilder().addNode(source, 's').addNode('Function', 'f', fn('x')).connect('s', 'f', { 'result.data': 'items', result: 'all' }).build({ name: 'm' })
    expect(wf.nodes[0]?.type).toBe('Source')
    expect(wf.connections).toHaveLength(2)
    expect(() => new WorkflowBuilder().connect('a', 'b', {})).toThrow(/mapping is empty/)
  })

  it('needs a name', () => {
    expect(() => new WorkflowBuilder().build({ name: '' })).toThrow(/needs a name/)
  })
})

describe('Workflow', () => {
  const built = () =>
    new WorkflowBuilder()
      .addNode('Function', 'a', { code: '() => ({ n: 1 })', nested: { list: [1, 'two', null, { deep: true }] } })
      .addNode('HTTPRequest', 'b', { url: 'http://localhost/${path}' })
      .addConnection('a', 'n.value', 'b', 'body')
      .build({ name: 'round-trip', description: 'd' })

  it('round-trips through JSON exactly', () => {
    const wf = built()
    const json = wf.toJSON()
    const again = Workflow.fromJSON(JSON.parse(JSON.stringify(json)))
    expect(again.toJSON()).toEqual(json)
    expect(JSON.stringify(again)).toBe(JSON.stringify(wf))
  })

  it('is immutable', () => {
    const wf = built()
    expect(Object.isFrozen(wf)).toBe(true)
    expect(Object.isFrozen(wf.nodes[0]?.params)).toBe(true)
    expect(() => {
      ;(wf.nodes as unknown as unknown[]).push({})
    }).toThrow(TypeError)
    const json = wf.toJSON()
    json.nodes.pop()
    expect(wf.nodes).toHaveLength(2)
  })

  it('does not share params with the builder that made it', () => {
    const params = { code: '1', list: [1] }
    const builder = new WorkflowBuilder().addNode('Function', 'a', params)
    params.list.push(2)
    const wf = builder.build({ name: 'copy' })
    expect(wf.nodes[0]?.params.list).toEqual([1])
  })

  it('fromJSON checks the shape and the graph rules', () => {
    expect(() => Workflow.fromJSON({ name: 'x' })).toThrow(expect.objectContaining({ code: 'VALIDATION_FAILED' }))
    const json = built().toJSON()
    json.connections.push({ from: 'b', fromOutput: '', to: 'a', toInput: 'x' })
    expect(() => Workflow.fromJSON(json)).toThrow(/cycle/)
    expect(() => Workflow.fromJSON(built().toJSON(), { registry: new NodeRegistry() })).toThrow(/unknown type "Function"/)
  })

  it('is recognised across package copies by brand', () => {
    expect(Workflow.isWorkflow(built())).toBe(true)
    expect(Workflow.isWorkflow(built().toJSON())).toBe(false)
    expect(WorkflowBuilder.isBuilder(new WorkflowBuilder())).toBe(true)
  })
})
