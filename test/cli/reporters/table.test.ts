import { describe, expect, it } from 'vitest'
import { buildCheckReport } from '../../../src/discovery/report.js'
import { renderSummary, renderTable, safe } from '../../../src/cli/reporters/table.js'
import { file, mixedRun, run } from '../sample-report.js'

describe('table reporter', () => {
  it('prints file, status, ms and workflows, with the reason under each failing row', () => {
    expect(renderTable(buildCheckReport(mixedRun()), { color: false })).toBe(
      [
        'FILE                      STATUS        MS  WORKFLOWS',
        'workflows/boom.ts         error         10  -',
        '  -> boom (at workflows/boom.ts:1)',
        'workflows/cached.ts       ok, cached     0  cached',
        'workflows/create-user.ts  ok           412  create-user',
        'workflows/empty.ts        empty          3  -',
        'workflows/exit.ts         exited        10  -',
        '  -> called process.exit(3) during import',
        'workflows/hang.ts         timeout     1000  -',
        '  -> the import did not finish within its deadline (killed after 1000 ms while loading lib/slow.ts)',
        '',
      ].join('\n'),
    )
  })

  it('summarizes a failing run in one line', () => {
    expect(renderSummary(buildCheckReport(mixedRun()), { color: false })).toBe(
      'nexflow check failed: 6 files, 3 failing (1 error, 1 timeout, 1 exited), 2 workflows in 0.10 s\n',
    )
  })

  it('summarizes a passing run, with its budget', () => {
    const report = buildCheckReport(run([file('a.ts', { workflows: ['a'] }), file('b.ts', { status: 'empty', cached: true })], { durationMs: 1234 }), { budgetMs: 5000 })
    expect(renderSummary(report, { color: false })).toBe('nexflow check passed: 2 files (1 ok, 1 empty, 1 cached), 1 workflow in 1.23 s, within the 5000 ms budget\n')
  })

  it('shows slow files and a broken budget', () => {
    const report = buildCheckReport(run([file('a.ts', { durationMs: 300 })], { durationMs: 2000 }), { fileBudgetMs: 100, budgetMs: 1000 })
    expect(renderTable(report, { color: false })).toContain('a.ts  ok, slow  300  -\n  -> took 300 ms to import, over the 100 ms file budget (--file-budget-ms)')
    expect(renderSummary(report, { color: false })).toBe('nexflow check failed: 1 file, 1 failing (1 slow), 0 workflows in 2.00 s, over the 1000 ms budget\n')
  })

  it('colors only when asked, and never passes control characters from user code to the terminal', () => {
    const hostile = file('a\u001b[2J.ts', { status: 'error', error: { message: 'x\u0007\u001b]0;title\u0007' } })
    const plain = renderTable(buildCheckReport(run([hostile])), { color: false })
    expect(plain).not.toContain('\u001b')
    expect(plain).toContain('a\\u001b[2J.ts')
    expect(safe('\u0007')).toBe('\\u0007')
    expect(renderTable(buildCheckReport(run([hostile])), { color: true })).toContain('\u001b[31m')
  })

  it('prints no table for a run without files, and fails it unless that is allowed', () => {
    expect(renderTable(buildCheckReport(run([])), { color: false })).toBe('')
    expect(renderSummary(buildCheckReport(run([])), { color: false })).toBe(
      'nexflow check: no candidate files under /repo/app; check the root and --pattern, or pass --allow-empty when none is expected\nnexflow check failed: 0 files, 0 workflows in 0.10 s\n',
    )
    expect(renderSummary(buildCheckReport(run([]), { allowEmpty: true }), { color: false })).toBe('nexflow check passed: 0 files, 0 workflows in 0.10 s\n')
  })
})
