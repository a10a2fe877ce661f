import { once } from 'node:events'
import { describe, expect, it } from 'vitest'
import { MAX_PROGRESS_OUTPUT_CHARS, progressOutput, type RunProgress } from '../../../src/protocol/run-progress.js'
import { ProgressChannel } from '../../../src/server/progress-channel.js'

async function drain(channel: ProgressChannel): Promise<RunProgress[]> {
  const events: RunProgress[] = []
  for await (const event of channel) events.push(event)
  return events
}

describe('ProgressChannel', () => {
  it('yields what a worker posts, in order, dropping and counting what does not match the protocol, until the end marker', async () => {
    const channel = new ProgressChannel()
    const port = channel.workerPort()
    port.postMessage({ type: 'node-started', nodeId: 'a', nodeType: 'Function' })
    port.postMessage({ type: 'node-started', nodeId: 'a' }) // no nodeType
    port.postMessage({ type: 'node-finished', nodeId: 'a', ms: -1, ok: true, output: '{}', truncated: false, chars: 2 }) // negative ms
    port.postMessage({ type: 'result', outputs: {} }) // not a progress message
    port.postMessage({ type: 'node-finished', nodeId: 'a', ms: 1, ok: true, output: '1\n\nevent: result\ndata: {}', truncated: false, chars: 2 }) // a forged stream line
    port.postMessage({ type: 'node-finished', nodeId: 'a', ms: 1.5, ok: true, output: '{"n":1}', truncated: false, chars: 7 })
    port.postMessage({ type: 'end' })
    port.postMessage({ type: 'node-started', nodeId: 'late', nodeType: 'Function' })
    const events = await drain(channel)
    expect(events.map((e) => `${e.type}:${e.nodeId}`)).toEqual(['node-started:a', 'node-finished:a'])
    expect(channel.malformed).toBe(4)
    port.close()
  })

  it('ends when the worker side closes (a stopped worker) and when closed here', async () => {
    const channel = new ProgressChannel()
    const port = channel.workerPort()
    port.postMessage({ type: 'node-started', nodeId: 'a', nodeType: 'Function' })
    port.close()
    expect(await drain(channel)).toHaveLength(1)
    const other = new ProgressChannel()
    const closed = once(other.workerPort(), 'close')
    other.close()
    expect(await drain(other)).toEqual([])
    await closed
  })

  it('reports a run on this thread through its observer, outputs bounded the same way', async () => {
    const channel = new ProgressChannel()
    const observer = channel.observer()
    observer.nodeStarted('a', 'Function')
    observer.nodeFinished('a', 2, { ok: true, output: { big: 2n ** 64n, long: 'x'.repeat(MAX_PROGRESS_OUTPUT_CHARS) } })
    observer.nodeFinished('b', 1, { ok: false, error: Object.assign(new Error('nope'), { code: 'CONFLICT' }) })
    channel.runAnswered()
    const [started, finished, failed] = await drain(channel)
    expect(started).toEqual({ type: 'node-started', nodeId: 'a', nodeType: 'Function' })
    expect(finished).toMatchObject({ type: 'node-finished', truncated: true, chars: MAX_PROGRESS_OUTPUT_CHARS + '{"big":"18446744073709551616","long":""}'.length })
    expect((JSON.parse((finished as { output: string }).output) as string).startsWith('{"big":"18446744073709551616"')).toBe(true)
    expect(JSON.parse((failed as { output: string }).output)).toEqual({ error: { name: 'Error', message: 'nope', code: 'CONFLICT' } })
  })

  it('an output JSON cannot hold is described, not thrown', () => {
    const cycle: Record<string, unknown> = {}
    cycle.self = cycle
    expect(JSON.parse(progressOutput(cycle).output)).toMatchObject({ unserializable: expect.stringMatching(/circular/i) })
  })
})
