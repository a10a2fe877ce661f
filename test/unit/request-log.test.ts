import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { ActivityLog, type RequestLogEntry, type RunLogEntry } from '../../src/server/request-log.js'

/** The lines an ActivityLog writes, captured. */
function capture(format: 'json' | 'text'): { log: ActivityLog; lines: string[] } {
  const lines: string[] = []
  const log = new ActivityLog({ info: (line) => lines.push(line), warn: (line) => lines.push(line) }, format)
  return { log, lines }
}

const anyText = fc.oneof(fc.string(), fc.string({ unit: 'binary' }), fc.constantFrom('"', '\\', '\n', '\u2028', '</script>', '","level":"error'))
const maybe = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: undefined })
const duration = fc.oneof(fc.double({ noNaN: true, noDefaultInfinity: true, min: 0, max: 1e9 }), fc.constantFrom(0, 0.005, 12.345))

describe('ActivityLog JSON lines', () => {
  it('say what JSON.stringify of the same fields says, whatever a client put in them, on one line', () => {
    const request = fc.record<RequestLogEntry>({ requestId: maybe(anyText), method: anyText, path: anyText, route: anyText, status: fc.integer({ min: 100, max: 599 }), durationMs: duration, client: maybe(anyText) })
    const run = fc.record<RunLogEntry>({
      runId: anyText,
      requestId: maybe(anyText),
      workflow: anyText,
      outcome: fc.constantFrom('completed', 'failed', 'timeout', 'cancelled', 'crashed', 'error'),
      durationMs: duration,
      errorCode: maybe(anyText),
    })
    fc.assert(
      fc.property(request, run, (r, n) => {
        const { log, lines } = capture('json')
        log.request(r)
        log.run(n)
        expect(lines).toHaveLength(2)
        for (const line of lines) expect(line).not.toMatch(/[\n\r]/)
        const [requestLine, runLine] = lines.map((line) => JSON.parse(line) as Record<string, unknown>)
        const round = (ms: number) => Math.round(ms * 100) / 100
        const path = r.path.length > 1024 ? `${r.path.slice(0, 1024)}...` : r.path
        // JSON.stringify of the object the lines used to be made from, with the time the line carries.
        expect(requestLine).toEqual(JSON.parse(JSON.stringify({ time: requestLine?.time, level: 'info', msg: 'request', request_id: r.requestId, method: r.method, path, route: r.route, status: r.status, duration_ms: round(r.durationMs), client: r.client })))
        expect(runLine).toEqual(
          JSON.parse(JSON.stringify({ time: runLine?.time, level: n.outcome === 'completed' ? 'info' : 'warn', msg: 'run', run_id: n.runId, request_id: n.requestId, workflow: n.workflow, outcome: n.outcome, duration_ms: round(n.durationMs), error_code: n.errorCode })),
        )
        expect(typeof requestLine?.time).toBe('number')
      }),
      { numRuns: 2000 },
    )
  })

  it('keep the key order of the object form, and leave out a field with no value', () => {
    const { log, lines } = capture('json')
    log.request({ requestId: 'r-1', method: 'POST', path: '/workflows/a/execute', route: '/workflows/:name/execute', status: 200, durationMs: 1.234, client: undefined })
    log.run({ runId: 'u-1', requestId: undefined, workflow: 'a', outcome: 'failed', durationMs: 0.5, errorCode: 'CONFLICT' })
    expect(lines[0]).toMatch(/^\{"time":\d+,"level":"info","msg":"request","request_id":"r-1","method":"POST","path":"\/workflows\/a\/execute","route":"\/workflows\/:name\/execute","status":200,"duration_ms":1.23\}$/)
    expect(lines[1]).toMatch(/^\{"time":\d+,"level":"warn","msg":"run","run_id":"u-1","workflow":"a","outcome":"failed","duration_ms":0.5,"error_code":"CONFLICT"\}$/)
  })
})
