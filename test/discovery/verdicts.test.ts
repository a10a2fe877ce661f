import { describe, expect, it } from 'vitest'
import { timedOut, type VerdictFacts } from '../../src/discovery/pool/verdicts.js'

const facts: VerdictFacts = { file: 'workflows/seed.ts', isolation: 'thread', timeoutMs: 5000, stuckGraceMs: 1000, maxMemoryMb: 1024, elapsedMs: 5003.4, loading: 'lib/db.ts' }

// Issue 9: a timeout named the file and the time but not what to do about it; the usual cause is
// database work at a module's top level, which discovery evaluates.
describe('a timeout verdict', () => {
  it('ends with the fix', () => {
    expect(timedOut(facts)).toEqual({
      status: 'timeout',
      error: {
        name: 'NexflowError',
        code: 'DISCOVERY_TIMEOUT',
        message:
          "workflows/seed.ts did not finish importing within 5000 ms; its thread was killed after 5003 ms; it was loading lib/db.ts; move database work out of the module's top level, or guard it with `process.env.NEXFLOW_DISCOVERY`",
        details: { timeoutMs: 5000, elapsedMs: 5003 },
      },
    })
    // Hung in its own top level: naming the file twice says nothing more.
    expect(timedOut({ ...facts, loading: 'workflows/seed.ts' }).error.message).not.toContain('it was loading')
    expect(timedOut({ ...facts, loading: undefined }).error.message).toMatch(/killed after 5003 ms; move database work out of the module's top level, or guard it with `process\.env\.NEXFLOW_DISCOVERY`$/)
  })
})
