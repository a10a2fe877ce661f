import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import { defineNode, FunctionNode, NodeRegistry, WorkflowBuilder, type NexflowError, type Workflow } from '../../../src/index.js'
import { workflowProblems, type WorkflowProblem } from '../../../src/workflow/validate.js'

// A model-like node (strict params, as DataFlow's generated nodes), a plain one and a loose one.
const UserCreate = defineNode({
  type: 'UserCreateNode',
  params: z.strictObject({ id: z.string(), email: z.string().email(), fullName: z.string().optional(), active: z.boolean().default(true) }),
  run: (params) => params,
})
const UserUpdate = defineNode({
  type: 'UserUpdateNode',
  params: z.strictObject({ id: z.string(), fields: z.strictObject({ email: z.string().email().optional(), fullName: z.string().optional() }).default({}) }),
  run: (params) => params,
})
const Plain = defineNode({ type: 'Plain', params: z.object({ count: z.number().int() }), run: (params) => params })
const Source = defineNode({ type: 'Source', params: z.object({}), run: () => ({ user: { email: 'a@b.c', id: 'u1' } }) })

function registry(): NodeRegistry {
  const r = new NodeRegistry()
  for (const definition of [UserCreate, UserUpdate, Plain, Source, FunctionNode]) r.register(definition)
  return r
}

/** Builds without a registry (nothing checked), then validates. */
function problemsOf(build: (b: WorkflowBuilder) => WorkflowBuilder): WorkflowProblem[] {
  return workflowProblems(build(new WorkflowBuilder()).build({ name: 'wf' }), registry())
}

describe('workflowProblems', () => {
  it('names an unknown node type and the closest registered one', () => {
    const problems = problemsOf((b) => b.addNode('UserCreatNode', 'create', { id: '${id}' }))
    expect(problems).toEqual([
      expect.objectContaining({ kind: 'unknown_node_type', nodeId: 'create', nodeType: 'UserCreatNode', suggestion: 'UserCreateNode', message: 'node "create" has unknown type "UserCreatNode"; did you mean "UserCreateNode"?' }),
    ])
  })

  it('lists the registered types when none is close', () => {
    const [problem] = problemsOf((b) => b.addNode('Zzzzzzzzzz', 'z'))
    expect(problem?.suggestion).toBeUndefined()
    expect(problem?.message).toBe('node "z" has unknown type "Zzzzzzzzzz"; registered types: Function, Plain, Source, UserCreateNode, UserUpdateNode')
  })

  it('reports a config value its param schema refuses, with the zod issue', () => {
    const problems = problemsOf((b) => b.addNode('UserCreateNode', 'create', { id: '${id}', email: '${email}', active: 'yes' }))
    expect(problems).toEqual([
      {
        kind: 'invalid_param',
        nodeId: 'create',
        nodeType: 'UserCreateNode',
        param: 'active',
        issue: { code: 'invalid_type', message: 'Invalid input: expected boolean, received string', path: [] },
        message: 'node "create" (UserCreateNode) param "active": Invalid input: expected boolean, received string',
      },
    ])
  })

  it('reports an unknown param key on strict and plain params, with the closest declared one', () => {
    const strict = problemsOf((b) => b.addNode('UserCreateNode', 'create', { id: '${id}', emial: '${email}' }))
    expect(strict).toEqual([expect.objectContaining({ kind: 'unknown_param', nodeId: 'create', param: 'emial', suggestion: 'email' })])
    expect(strict[0]?.message).toBe('node "create" (UserCreateNode) has unknown param "emial"; did you mean "email"?')
    // A plain z.object() would drop the key silently: the value never reaches the node.
    const plain = problemsOf((b) => b.addNode('Plain', 'p', { count: 1, countt: 2 }))
    expect(plain).toEqual([expect.objectContaining({ kind: 'unknown_param', param: 'countt', suggestion: 'count' })])
  })

  it('accepts extra keys on a node whose params are loose (Function), and checks its literal code as written', () => {
    expect(problemsOf((b) => b.addNode('Function', 'f', { code: '({ a }) => ({ a: `${a}` })', a: 1, b: '${b}' }))).toEqual([])
    expect(problemsOf((b) => b.addNode('Function', 'f', { code: '' }))).toEqual([expect.objectContaining({ kind: 'invalid_param', param: 'code', issue: expect.objectContaining({ code: 'too_small' }) })])
  })

  it('reports a connection into a param the node does not declare', () => {
    const problems = problemsOf((b) => b.addNode('Source', 's').addNode('UserCreateNode', 'create', { id: 'u1' }).addConnection('s', 'user.email', 'create', 'emial'))
    expect(problems).toEqual([expect.objectContaining({ kind: 'unknown_param', nodeId: 'create', param: 'emial', suggestion: 'email' })])
    expect(problems[0]?.message).toBe('node "create" (UserCreateNode): connection s.user.email -> create.emial feeds an unknown param "emial"; did you mean "email"?')
    // Into plain params, such a connection only orders the nodes (its value is dropped): allowed.
    expect(problemsOf((b) => b.addNode('Source', 's').addNode('Plain', 'p', { count: 1 }).addConnection('s', 'user', 'p', 'after'))).toEqual([])
  })

  it('does not report a required param nothing fills: it is a declared input of the workflow', () => {
    const workflow = new WorkflowBuilder({ registry: registry() }).addNode('UserCreateNode', 'create', { id: '${id}' }).build({ name: 'wf' })
    expect(workflowProblems(workflow, registry())).toEqual([])
    expect(workflow.inputSchema).toMatchObject({ required: expect.arrayContaining(['email', 'id']) })
  })

  it('leaves what templates and connections fill to run time', () => {
    // Whole and embedded templates, in a boolean and an email param; a connection-fed param whose config value would be wrong.
    const problems = problemsOf((b) =>
      b
        .addNode('Source', 's')
        .addNode('UserCreateNode', 'create', { id: 'user-${n}', email: '${email}', active: '${active}' })
        .addNode('UserCreateNode', 'fed', { id: 'u2', email: 'not an email' })
        .addConnection('s', 'user.email', 'fed', 'email'),
    )
    expect(problems).toEqual([])
  })

  it('checks the literal parts of a param that holds templates, unknown nested keys included', () => {
    const problems = problemsOf((b) => b.addNode('UserUpdateNode', 'update', { id: '${id}', fields: { email: '${email}', fullName: 3, naem: 'x' } }))
    expect(problems.map((p) => [p.kind, p.param, p.issue?.code])).toEqual(
      expect.arrayContaining([
        ['invalid_param', 'fields.fullName', 'invalid_type'],
        ['invalid_param', 'fields', 'unrecognized_keys'],
      ]),
    )
    expect(problems).toHaveLength(2)
  })

  it('reports every problem of every node, in node order', () => {
    const problems = problemsOf((b) => b.addNode('Nope', 'a').addNode('UserCreateNode', 'b', { id: 1, email: 'x', emial: 'y' }))
    expect(problems.map((p) => [p.nodeId, p.kind, p.param])).toEqual([
      ['a', 'unknown_node_type', undefined],
      ['b', 'invalid_param', 'id'],
      ['b', 'invalid_param', 'email'],
      ['b', 'unknown_param', 'emial'],
    ])
  })
})

describe('WorkflowBuilder.build with a registry', () => {
  function buildError(builder: WorkflowBuilder, options: unknown = { name: 'wf' }): NexflowError {
    try {
      ;(builder.build as (options: unknown) => Workflow).call(builder, options)
    } catch (error) {
      return error as NexflowError
    }
    throw new Error('build() did not fail')
  }

  it('fails on what the registry refuses, naming node, param and issue', () => {
    const error = buildError(new WorkflowBuilder({ registry: registry() }).addNode('UserCreateNode', 'create', { id: '${id}', email: '${email}', active: 'yes' }))
    expect(error.code).toBe('WORKFLOW_INVALID')
    expect(error.message).toBe('Workflow "wf" is invalid: node "create" (UserCreateNode) param "active": Invalid input: expected boolean, received string')
    expect(error.details.nodeProblems).toEqual([expect.objectContaining({ nodeId: 'create', param: 'active', issue: expect.objectContaining({ code: 'invalid_type' }) })])
  })

  it('builds a valid workflow, and one whose required params are left to its inputs', () => {
    const workflow = new WorkflowBuilder({ registry: registry() }).addNode('UserCreateNode', 'create', { id: '${id}' }).build({ name: 'ok' })
    expect(workflow.name).toBe('ok')
  })

  it('checks nothing against node types without one (types may be registered after the build)', () => {
    expect(() => new WorkflowBuilder().addNode('UserCreateNode', 'create', { active: 'yes', emial: 'x' }).build({ name: 'later' })).not.toThrow()
  })
})

describe('WorkflowBuilder.build without a name', () => {
  it('is a clear error, also when called from JavaScript with no options', () => {
    const builder = new WorkflowBuilder().addNode('Function', 'f', { code: '() => ({})' })
    for (const options of [undefined, {}, { name: '' }, { name: 42 }]) {
      let error: NexflowError | undefined
      try {
        ;(builder.build as (options: unknown) => Workflow).call(builder, options)
      } catch (thrown) {
        error = thrown as NexflowError
      }
      expect(error?.code).toBe('WORKFLOW_INVALID')
      expect(error?.message).toMatch(/^Workflow is invalid: a workflow needs a name: build\(\{ name: 'my-workflow' \}\)/)
      expect(error?.message).not.toContain('Cannot read properties')
    }
  })
})
