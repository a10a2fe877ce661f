import { describe, expect, it } from 'vitest'
import { buildCheckReport } from '../../../src/discovery/report.js'
import { command, escapeData, escapeProperty, renderGithub } from '../../../src/cli/reporters/github.js'
import { file, mixedRun, run } from '../sample-report.js'

describe('GitHub annotations reporter', () => {
  it('annotates failed files only, with paths relative to the workspace', () => {
    const lines = renderGithub(buildCheckReport(mixedRun()), { workspace: '/repo' }).trimEnd().split('\n')
    expect(lines).toEqual([
      '::error file=app/workflows/boom.ts,line=1,title=nexflow check%3A error::boom%0Asecond line',
      '::error file=app/workflows/exit.ts,title=nexflow check%3A exited::called process.exit(3) during import',
      '::error file=app/workflows/hang.ts,title=nexflow check%3A timeout::the import did not finish within its deadline (killed after 1000 ms while loading lib/slow.ts)%0Awhile loading lib/slow.ts',
    ])
  })

  it('prints nothing for a passing run', () => {
    expect(renderGithub(buildCheckReport(run([file('a.ts')])), { workspace: '/repo' })).toBe('')
  })

  it('escapes %, CR and LF in messages, and also , and : in properties', () => {
    expect(escapeData('100% done\r\nnext: a,b')).toBe('100%25 done%0D%0Anext: a,b')
    expect(escapeProperty('100% done\r\nnext: a,b')).toBe('100%25 done%0D%0Anext%3A a%2Cb')
    const hostile = file('workflows/a,b:c%d.ts', { status: 'error', error: { message: 'x%y\r\n::warning::injected' } })
    expect(renderGithub(buildCheckReport(run([hostile])), { workspace: '/repo/app' })).toBe(
      '::error file=workflows/a%2Cb%3Ac%25d.ts,title=nexflow check%3A error::x%25y%0D%0A::warning::injected\n',
    )
    expect(command('notice', {}, 'hi')).toBe('::notice::hi')
  })

  it('annotates slow files and a run over its budget', () => {
    const report = buildCheckReport(run([file('a.ts', { durationMs: 300 })], { durationMs: 5000 }), { fileBudgetMs: 100, budgetMs: 1000 })
    expect(renderGithub(report, { workspace: '/repo/app' })).toBe(
      '::error file=a.ts,title=nexflow check%3A slow::took 300 ms to import, over the 100 ms file budget (--file-budget-ms)\n' +
        '::error title=nexflow check%3A over budget::the run took 5000 ms, over the 1000 ms budget (--budget-ms)\n',
    )
  })

  it('keeps absolute paths for files outside the workspace', () => {
    const report = buildCheckReport(run([file('a.ts', { status: 'error', error: { message: 'x' } })]))
    expect(renderGithub(report, { workspace: '/elsewhere' })).toContain('file=/repo/app/a.ts,')
  })
})
