import { afterEach, describe, expect, it, vi } from 'vitest'
import { cacheKey, cloneResult, QueryCache } from '../../src/dataflow/cache.js'

describe('QueryCache', () => {
  afterEach(() => {
    vi.useRealTimers()
  })

  it('expires entries after the TTL', () => {
    vi.useFakeTimers({ toFake: ['performance'] })
    const cache = new QueryCache(1000, 10)
    cache.set('User', 'k', { count: 1 })
    vi.advanceTimersByTime(999)
    expect(cache.get('User', 'k')).toEqual({ count: 1 })
    vi.advanceTimersByTime(2)
    expect(cache.get('User', 'k')).toBeUndefined()
    expect(cache.size()).toBe(0)
    expect({ hits: cache.hits, misses: cache.misses }).toEqual({ hits: 1, misses: 1 })
  })

  it('drops one model at a time and keeps at most maxEntries per model, oldest out first', () => {
    const cache = new QueryCache(60_000, 2)
    cache.set('User', 'a', 1)
    cache.set('User', 'b', 2)
    cache.set('User', 'c', 3)
    cache.set('Order', 'a', 4)
    expect(cache.get('User', 'a')).toBeUndefined()
    expect(cache.get('User', 'c')).toBe(3)
    cache.invalidate('User')
    expect(cache.size('User')).toBe(0)
    expect(cache.get('Order', 'a')).toBe(4)
  })

  it('keys params unambiguously, bigints and dates included', () => {
    expect(cacheKey('List', { filter: { big: 1n } })).not.toBe(cacheKey('List', { filter: { big: '1' } }))
    expect(cacheKey('List', { filter: { at: new Date(0) } })).toContain('1970-01-01T00:00:00.000Z')
    expect(cacheKey('Read', { id: 1 })).not.toBe(cacheKey('Count', { id: 1 }))
  })

  it('clones results deeply, keeping dates and buffers', () => {
    const original = { records: [{ at: new Date(5), bytes: Buffer.from([1]), doc: { a: [1] } }] }
    const copy = cloneResult(original)
    expect(copy).toEqual(original)
    copy.records[0]!.doc.a.push(2)
    expect(original.records[0]!.doc.a).toEqual([1])
    expect(copy.records[0]!.at).toBeInstanceOf(Date)
    expect(Buffer.isBuffer(copy.records[0]!.bytes)).toBe(true)
    expect(copy.records[0]!.bytes).not.toBe(original.records[0]!.bytes)
  })
})
