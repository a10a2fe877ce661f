import { PassThrough } from 'node:stream'
import { describe, expect, it } from 'vitest'
import { Progress } from '../../../src/cli/reporters/progress.js'
import { file } from '../sample-report.js'

function terminal(columns: number) {
  const stream = Object.assign(new PassThrough(), { isTTY: true, columns })
  const writes: string[] = []
  stream.on('data', (chunk: Buffer) => writes.push(chunk.toString()))
  return { stream, writes }
}

describe('TTY progress line', () => {
  it('rewrites one line with counts (a re-reported path counted once) and erases it when done', async () => {
    const { stream, writes } = terminal(100)
    const progress = new Progress(stream, { color: false })
    progress.update(file('workflows/a.ts'))
    progress.update(file('workflows/b.ts', { status: 'timeout' }))
    progress.update(file('workflows/a.ts', { status: 'conflict' }))
    progress.stop()
    await new Promise((resolve) => setImmediate(resolve))
    const frames = writes.join('').split('\r\u001b[2K').filter((frame) => frame !== '')
    expect(frames.at(-1)).toMatch(/^nexflow check 2 checked, 2 failing, \d+\.\d s {2}workflows\/a\.ts conflict$/)
    expect(writes.join('').endsWith('\r\u001b[2K')).toBe(true)
  })

  it('keeps the line narrower than the terminal so rewinding it works', async () => {
    const { stream, writes } = terminal(50)
    const progress = new Progress(stream, { color: false })
    progress.update(file(`workflows/${'deep/'.repeat(20)}a.ts`))
    progress.stop()
    await new Promise((resolve) => setImmediate(resolve))
    for (const frame of writes.join('').split('\r\u001b[2K')) expect(frame.length).toBeLessThan(50)
    expect(writes.join('')).toMatch(/ …[a-z/]+\/deep\/a\.ts ok/)
  })

  it('counts wide characters as two columns, and draws nothing on a terminal narrower than its counts', async () => {
    const wide = terminal(60)
    const progress = new Progress(wide.stream, { color: false })
    progress.update(file(`workflows/${'工作流'.repeat(20)}.ts`))
    progress.stop()
    const narrow = terminal(20)
    const tiny = new Progress(narrow.stream, { color: false })
    tiny.update(file('workflows/a.ts'))
    tiny.stop()
    await new Promise((resolve) => setImmediate(resolve))
    const columns = (frame: string) => [...frame].reduce((sum, char) => sum + (/[\u4e00-\u9fff]/.test(char) ? 2 : 1), 0)
    for (const frame of wide.writes.join('').split('\r\u001b[2K')) expect(columns(frame)).toBeLessThan(60)
    expect(wide.writes.join('')).toContain('…')
    expect(narrow.writes.join('').split('\r\u001b[2K').filter((frame) => frame !== '')).toEqual([])
  })
})
