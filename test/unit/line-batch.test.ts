import { Writable } from 'node:stream'
import { describe, expect, it } from 'vitest'
import { batchedLines } from '../../src/cli/line-batch.js'

function recorder(): { stream: Writable; writes: string[] } {
  const writes: string[] = []
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      writes.push(chunk.toString())
      done()
    },
  })
  return { stream, writes }
}

describe('batchedLines', () => {
  it('writes the lines of one turn of the event loop in one write, in order, each whole', async () => {
    const { stream, writes } = recorder()
    const line = batchedLines(stream)
    for (let i = 0; i < 50; i++) line(`request ${i}`)
    expect(writes).toEqual([])
    await new Promise((resolve) => setImmediate(resolve))
    expect(writes).toHaveLength(1)
    expect(writes[0]!.split('\n')).toEqual([...Array.from({ length: 50 }, (_, i) => `request ${i}`), ''])
    line('next turn')
    await new Promise((resolve) => setImmediate(resolve))
    expect(writes).toEqual([writes[0], 'next turn\n'])
  })
})
