import { describe, expect, it } from 'vitest'
import { buildCheckReport } from '../../../src/discovery/report.js'
import { renderJunit } from '../../../src/cli/reporters/junit.js'
import { findAll, parseXml } from '../xml.js'
import { file, mixedRun, run } from '../sample-report.js'

describe('JUnit reporter', () => {
  it('writes one testcase per file, failures and errors with their messages', () => {
    const xml = parseXml(renderJunit(buildCheckReport(mixedRun())))
    const suite = findAll(xml, 'testsuite')[0]
    expect(xml.name).toBe('testsuites')
    expect(suite?.attributes).toMatchObject({ name: 'nexflow check', tests: '6', failures: '1', errors: '2', time: '0.100' })
    const cases = findAll(xml, 'testcase')
    expect(cases.map((c) => c.attributes.name)).toEqual(['workflows/boom.ts', 'workflows/cached.ts', 'workflows/create-user.ts', 'workflows/empty.ts', 'workflows/exit.ts', 'workflows/hang.ts'])
    const byName = new Map(cases.map((c) => [c.attributes.name, c]))
    const boom = findAll(byName.get('workflows/boom.ts') as never, 'error')[0]
    expect(boom?.attributes).toEqual({ type: 'error', message: 'boom' })
    expect(boom?.text).toBe('boom\nsecond line\nError: boom\n    at Module.run (/repo/app/node_modules/lib/index.js:4:2)\n    at file:///repo/app/workflows/boom.ts:1:7')
    const hang = findAll(byName.get('workflows/hang.ts') as never, 'failure')[0]
    expect(hang?.attributes.type).toBe('timeout')
    expect(hang?.text).toContain('while loading lib/slow.ts')
    expect(findAll(byName.get('workflows/exit.ts') as never, 'error')[0]?.attributes.type).toBe('exited')
    const ok = byName.get('workflows/create-user.ts')
    expect(ok?.attributes).toMatchObject({ file: 'workflows/create-user.ts', time: '0.412' })
    expect(findAll(ok as never, 'failure')).toEqual([])
    expect(findAll(ok as never, 'system-out')[0]?.text).toBe('ok; workflows: create-user; models: User, Session')
  })

  it('stays valid XML for a hostile file name and message, and keeps what XML can carry', () => {
    const name = `workflows/<&"'>\u0001\u001b[31m\t.ts`
    const message = `bad <tag attr="x"> & 'quotes' ]]> \u0000\u0008\u000b\u000c\u001f\ud800 lone\r\nwindows line\ttab`
    const xmlText = renderJunit(buildCheckReport(run([file(name, { status: 'error', error: { message, stack: `Error: ${message}\n    at x` } })])))
    const xml = parseXml(xmlText)
    const testcase = findAll(xml, 'testcase')[0]
    expect(testcase?.attributes.name).toBe(`workflows/<&"'>\\u0001\\u001b[31m\t.ts`)
    const error = findAll(xml, 'error')[0]
    const visible = `bad <tag attr="x"> & 'quotes' ]]> \\u0000\\u0008\\u000b\\u000c\\u001f\\ud800 lone\r\nwindows line\ttab`
    expect(error?.attributes.message).toBe(visible.split('\r\n')[0])
    expect(error?.text).toBe(`${visible}\nError: ${visible}\n    at x`)
  })

  it('marks a slow file as a failure of type slow and adds a testcase for the run budget', () => {
    const report = buildCheckReport(run([file('a.ts', { durationMs: 250 })], { durationMs: 2000 }), { fileBudgetMs: 100, budgetMs: 1000 })
    const xml = parseXml(renderJunit(report))
    expect(findAll(xml, 'testsuite')[0]?.attributes).toMatchObject({ tests: '2', failures: '2', errors: '0' })
    const failures = findAll(xml, 'failure')
    expect(failures.map((f) => f.attributes.type)).toEqual(['slow', 'budget'])
    expect(failures[0]?.attributes.message).toBe('took 250 ms to import, over the 100 ms file budget (--file-budget-ms)')
    expect(failures[1]?.attributes.message).toBe('the run took 2000 ms, over the 1000 ms budget (--budget-ms)')
    expect(findAll(xml, 'testcase')[1]?.attributes.name).toBe('whole run within --budget-ms 1000')
  })

  it('reports a run without candidate files as one failure, or as an empty suite when that is allowed', () => {
    const failing = parseXml(renderJunit(buildCheckReport(run([]))))
    expect(findAll(failing, 'testsuite')[0]?.attributes).toMatchObject({ tests: '1', failures: '1', errors: '0' })
    expect(findAll(failing, 'failure')[0]?.attributes).toMatchObject({ type: 'no-files', message: expect.stringContaining('--allow-empty') })
    const allowed = parseXml(renderJunit(buildCheckReport(run([]), { allowEmpty: true })))
    expect(findAll(allowed, 'testsuite')[0]?.attributes).toMatchObject({ tests: '0', failures: '0', errors: '0' })
  })
})
