import { execFileSync } from 'node:child_process'
import { Writable } from 'node:stream'
import { fileURLToPath } from 'node:url'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { batchedLines, LINE_BATCH_MS } from '../../src/cli/line-batch.js'

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
  afterEach(() => {
    vi.useRealTimers()
  })

  it('writes the lines of several turns of the event loop in one write, in order, each whole', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] })
    const { stream, writes } = recorder()
    const line = batchedLines(stream)
    for (let i = 0; i < 50; i++) {
      line(`request ${i}`)
      await new Promise((resolve) => setImmediate(resolve))
    }
    expect(writes).toEqual([])
    vi.advanceTimersByTime(LINE_BATCH_MS)
    expect(writes).toHaveLength(1)
    expect(writes[0]!.split('\n')).toEqual([...Array.from({ length: 50 }, (_, i) => `request ${i}`), ''])
    line('next batch')
    vi.advanceTimersByTime(LINE_BATCH_MS)
    expect(writes).toEqual([writes[0], 'next batch\n'])
  })

  it('writes at once when 64 KiB are waiting', () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] })
    const { stream, writes } = recorder()
    const line = batchedLines(stream)
    const long = 'x'.repeat(1023)
    for (let i = 0; i < 64; i++) line(long)
    expect(writes).toHaveLength(1)
    expect(writes[0]).toHaveLength(64 * 1024)
  })

  it('writes the lines still waiting when the process exits', () => {
    const module = fileURLToPath(new URL('../../src/cli/line-batch.ts', import.meta.url))
    const script = `const { batchedLines } = await import(${JSON.stringify(module)}); const line = batchedLines(process.stdout); line('first'); line('last'); process.exit(3)`
    let stdout = ''
    try {
      execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8' })
    } catch (error) {
      expect((error as { status?: number }).status).toBe(3)
      stdout = (error as { stdout: string }).stdout
    }
    expect(stdout).toBe('first\nlast\n')
  })
})
