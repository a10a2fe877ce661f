import { describe, expect, it } from 'vitest'
import { LocalRuntime, WorkflowBuilder, type NodeOutcome, type RunObserver } from '../../../src/index.js'

type Heard = ['started', string, string] | ['finished', string, NodeOutcome]

function recorder(): { heard: Heard[]; observer: RunObserver } {
  const heard: Heard[] = []
  return {
    heard,
    observer: {
      nodeStarted: (nodeId, type) => heard.push(['started', nodeId, type]),
      nodeFinished: (nodeId, ms, outcome) => {
        expect(ms).toBeGreaterThanOrEqual(0)
        heard.push(['finished', nodeId, outcome])
      },
    },
  }
}

describe('LocalRuntime observer', () => {
  it('hears each node start and finish, in the order they happen, with outputs', async () => {
    const workflow = new WorkflowBuilder()
      .addNode('Function', 'a', { code: '() => ({ n: 1 })' })
      .addNode('Function', 'b', { code: '({ n }) => ({ n: n + 1 })' })
      .addConnection('a', 'n', 'b', 'n')
      .build({ name: 'chain' })
    const { heard, observer } = recorder()
    const result = await new LocalRuntime().execute(workflow, { observer })
    expect(result.ok).toBe(true)
    expect(heard).toEqual([
      ['started', 'a', 'Function'],
      ['finished', 'a', { ok: true, output: { n: 1 } }],
      ['started', 'b', 'Function'],
      ['finished', 'b', { ok: true, output: { n: 2 } }],
    ])
  })

  it('a node that throws is heard as finished with its error; nothing is heard after the run ends', async () => {
    const workflow = new WorkflowBuilder()
      .addNode('Function', 'first', { code: '() => { throw new TypeError("first broke") }' })
      .addNode('Function', 'second', { code: '({ x }) => ({ x })' })
      .addConnection('first', 'x', 'second', 'x')
      .build({ name: 'broken' })
    const { heard, observer } = recorder()
    await expect(new LocalRuntime().execute(workflow, { observer })).rejects.toThrow(/first broke/)
    expect(heard.map(([kind, id]) => `${kind}:${id}`)).toEqual(['started:first', 'finished:first'])
    const outcome = heard[1]?.[2] as NodeOutcome
    expect(outcome.ok).toBe(false)
    expect(outcome.ok === false && (outcome.error as Error).message).toMatch(/first broke/)
  })

  it('an observer that throws does not change the run', async () => {
    const workflow = new WorkflowBuilder().addNode('Function', 'a', { code: '() => ({ n: 1 })' }).build({ name: 'one' })
    const observer: RunObserver = {
      nodeStarted: () => {
        throw new Error('observer broke')
      },
      nodeFinished: () => {
        throw new Error('observer broke')
      },
    }
    const result = await new LocalRuntime().execute(workflow, { observer })
    expect(result).toMatchObject({ ok: true, results: { a: { n: 1 } } })
  })
})
