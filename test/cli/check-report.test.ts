import { describe, expect, it } from 'vitest'
import { firstLine, tally } from '../../src/cli/check-report.js'
import { buildCheckReport, describeStatus } from '../../src/discovery/report.js'
import { FILE_STATUSES } from '../../src/protocol/discovery.js'
import { file, mixedRun, run } from './sample-report.js'

describe('buildCheckReport', () => {
  it('passes ok and empty files and fails every other status', () => {
    const report = buildCheckReport(run(FILE_STATUSES.map((status) => file(`workflows/${status}.ts`, { status }))))
    const failed = report.files.filter((f) => f.failed).map((f) => f.status)
    expect(failed.sort()).toEqual(['conflict', 'crashed', 'error', 'exited', 'invalid', 'oom', 'stuck', 'timeout'])
    expect(report.ok).toBe(false)
  })

  it('is ok when every file passes, sorted by path, whatever order discovery reported in', () => {
    const report = buildCheckReport(run([file('workflows/b.ts', { workflows: ['b'] }), file('workflows/a.ts', { status: 'empty' })]))
    expect(report.ok).toBe(true)
    expect(report.files.map((f) => f.path)).toEqual(['workflows/a.ts', 'workflows/b.ts'])
    expect(report.workflows).toEqual(['b'])
  })

  it('keeps the last result for a path (a file re-reported as a conflict)', () => {
    const first = file('workflows/a.ts', { workflows: ['dup'] })
    const again = file('workflows/a.ts', { status: 'conflict', workflows: ['dup'], error: { message: 'workflow "dup" is also produced by workflows/b.ts' } })
    const report = buildCheckReport(run([first, again]))
    expect(report.files).toHaveLength(1)
    expect(report.files[0]).toMatchObject({ status: 'conflict', failed: true, error: { message: 'workflow "dup" is also produced by workflows/b.ts' } })
  })

  it('describes a failing status that came without an error', () => {
    const report = buildCheckReport(mixedRun())
    const byPath = new Map(report.files.map((f) => [f.path, f]))
    expect(byPath.get('workflows/hang.ts')?.error).toEqual({ message: 'the import did not finish within its deadline (killed after 1000 ms while loading lib/slow.ts)' })
    expect(byPath.get('workflows/exit.ts')?.error).toEqual({ message: 'called process.exit(3) during import' })
    expect(byPath.get('workflows/boom.ts')?.error).toEqual({ message: 'boom\nsecond line', stack: 'Error: boom\n    at Module.run (/repo/app/node_modules/lib/index.js:4:2)\n    at file:///repo/app/workflows/boom.ts:1:7', at: 'workflows/boom.ts:1' })
    expect(byPath.get('workflows/create-user.ts')?.error).toBeUndefined()
    for (const status of FILE_STATUSES) expect(describeStatus({ status, durationMs: 1 })).not.toBe('')
  })

  it('marks a passing file over --file-budget-ms slow, and only passing files', () => {
    const report = buildCheckReport(
      run([file('workflows/fast.ts', { durationMs: 99 }), file('workflows/slow.ts', { durationMs: 101 }), file('workflows/bad.ts', { status: 'timeout', durationMs: 500 })]),
      { fileBudgetMs: 100 },
    )
    expect(report.files.map((f) => [f.path, f.slow, f.failed])).toEqual([
      ['workflows/bad.ts', false, true],
      ['workflows/fast.ts', false, false],
      ['workflows/slow.ts', true, true],
    ])
    expect(report.files.find((f) => f.slow)?.status).toBe('ok')
    expect(report.ok).toBe(false)
  })

  it('holds a cache hit to the import time recorded with it, so a warm cache cannot hide a slow file', () => {
    const report = buildCheckReport(run([file('workflows/a.ts', { cached: true, durationMs: 1, manifest: { importMs: 250 } })]), { fileBudgetMs: 100 })
    expect(report.files[0]).toMatchObject({ cached: true, durationMs: 1, importMs: 250, slow: true })
  })

  it('fails a run over --budget-ms even when every file passed', () => {
    expect(buildCheckReport(run([file('workflows/a.ts')], { durationMs: 1500 }), { budgetMs: 1000 })).toMatchObject({ ok: false, overBudget: true })
    expect(buildCheckReport(run([file('workflows/a.ts')], { durationMs: 900 }), { budgetMs: 1000 })).toMatchObject({ ok: true, overBudget: false })
  })

  it('reports paths relative to the root with forward slashes', () => {
    const report = buildCheckReport(run([file('workflows\\win\\a.ts')]))
    expect(report.files[0]?.path).toBe('workflows/win/a.ts')
  })

  it('shortens a message to its first line, keeping the next when the first only introduces it', () => {
    expect(firstLine('\nboom\n    at x')).toBe('boom')
    expect(firstLine('Transform failed with 1 error:\n/app/a.ts:1:0: ERROR: Unexpected "}"\n')).toBe('Transform failed with 1 error: /app/a.ts:1:0: ERROR: Unexpected "}"')
    expect(firstLine('ends with a colon:')).toBe('ends with a colon:')
  })

  it('counts outcomes', () => {
    const t = tally(buildCheckReport(mixedRun()))
    expect(t).toMatchObject({ total: 6, passed: 3, failed: 3, slow: 0, cached: 1 })
  })
})
