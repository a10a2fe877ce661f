import { describe, expect, it } from 'vitest'
import { TurnBatch } from '../../src/server/durability/turn-batch.js'

/** A batch whose flushes are recorded and held until released, to see what each one was given. */
function recorded(max?: number) {
  const flushes: number[][] = []
  const releases: (() => void)[] = []
  const batch = new TurnBatch<number, number>(async (items) => {
    flushes.push(items)
    await new Promise<void>((resolve) => releases.push(resolve))
    if (items.includes(-1)) throw new Error('bad batch')
    return items.map((item) => item * 10)
  }, max)
  const flushed = async (count: number) => {
    while (flushes.length < count) await new Promise((resolve) => setImmediate(resolve))
  }
  return { batch, flushes, releases, flushed }
}

describe('TurnBatch', () => {
  it('the calls of one turn share a flush, each gets its own result', async () => {
    const { batch, flushes, releases, flushed } = recorded()
    const results = Promise.all([batch.add(1), batch.add(2), batch.add(3)])
    await flushed(1)
    releases[0]?.()
    expect(await results).toEqual([10, 20, 30])
    expect(flushes).toEqual([[1, 2, 3]])
  })

  it('calls made while a flush is in flight wait for it, then go together, in order', async () => {
    const { batch, flushes, releases, flushed } = recorded()
    const first = batch.add(1)
    await flushed(1)
    const later = [batch.add(2), batch.add(3)]
    await new Promise((resolve) => setImmediate(resolve))
    expect(flushes).toHaveLength(1)
    releases[0]?.()
    expect(await first).toBe(10)
    await flushed(2)
    releases[1]?.()
    expect(await Promise.all(later)).toEqual([20, 30])
    expect(flushes).toEqual([[1], [2, 3]])
  })

  it('a flush that throws rejects its own calls only', async () => {
    const { batch, releases, flushed } = recorded()
    const bad = [batch.add(-1), batch.add(2)]
    await flushed(1)
    const good = batch.add(4)
    releases[0]?.()
    await expect(bad[0]).rejects.toThrow('bad batch')
    await expect(bad[1]).rejects.toThrow('bad batch')
    await flushed(2)
    releases[1]?.()
    expect(await good).toBe(40)
  })

  it('a flush takes at most max calls', async () => {
    const { batch, flushes, releases, flushed } = recorded(2)
    const results = Promise.all([1, 2, 3, 4, 5].map((n) => batch.add(n)))
    for (let i = 0; i < 3; i++) {
      await flushed(i + 1)
      releases[i]?.()
    }
    expect(await results).toEqual([10, 20, 30, 40, 50])
    expect(flushes).toEqual([[1, 2], [3, 4], [5]])
  })

  it('idle resolves at once with nothing to flush, else once every call so far is flushed', async () => {
    const { batch, releases, flushed } = recorded()
    await batch.idle()
    const first = batch.add(1)
    let idle = false
    const waiting = batch.idle().then(() => (idle = true))
    await flushed(1)
    const second = batch.add(2)
    releases[0]?.()
    await first
    await flushed(2)
    expect(idle).toBe(false)
    releases[1]?.()
    await Promise.all([second, waiting])
    expect(idle).toBe(true)
  })
})
