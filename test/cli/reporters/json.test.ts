import { describe, expect, it } from 'vitest'
import { buildCheckReport, toCheckJson } from '../../../src/discovery/report.js'
import { renderJson } from '../../../src/cli/reporters/json.js'
import { file, mixedRun, run } from '../sample-report.js'

describe('JSON reporter', () => {
  it('writes exactly the documented shape, paths relative to the root', () => {
    const json = JSON.parse(renderJson(buildCheckReport(mixedRun()))) as unknown
    expect(json).toEqual({
      ok: false,
      durationMs: 100,
      files: [
        { path: 'workflows/boom.ts', status: 'error', cached: false, durationMs: 10, workflows: [], models: [], error: { message: 'boom\nsecond line', stack: 'Error: boom\n    at Module.run (/repo/app/node_modules/lib/index.js:4:2)\n    at file:///repo/app/workflows/boom.ts:1:7', at: 'workflows/boom.ts:1' } },
        { path: 'workflows/cached.ts', status: 'ok', cached: true, durationMs: 0, workflows: ['cached'], models: [] },
        { path: 'workflows/create-user.ts', status: 'ok', cached: false, durationMs: 412, workflows: ['create-user'], models: ['User', 'Session'] },
        { path: 'workflows/empty.ts', status: 'empty', cached: false, durationMs: 3, workflows: [], models: [] },
        { path: 'workflows/exit.ts', status: 'exited', cached: false, durationMs: 10, workflows: [], models: [], error: { message: 'called process.exit(3) during import' } },
        {
          path: 'workflows/hang.ts',
          status: 'timeout',
          cached: false,
          durationMs: 1000,
          workflows: [],
          models: [],
          error: { message: 'the import did not finish within its deadline (killed after 1000 ms while loading lib/slow.ts)' },
        },
      ],
      workflows: ['cached', 'create-user'],
    })
  })

  it('adds "slow": true to a slow file and "overBudget": true to a run over budget, and nothing otherwise', () => {
    const slow = toCheckJson(buildCheckReport(run([file('a.ts', { durationMs: 300 }), file('b.ts', { durationMs: 5 })], { durationMs: 2000 }), { fileBudgetMs: 100, budgetMs: 1000 }))
    expect(slow.ok).toBe(false)
    expect(slow.overBudget).toBe(true)
    expect(slow.files.map((f) => ({ path: f.path, status: f.status, slow: f.slow }))).toEqual([
      { path: 'a.ts', status: 'ok', slow: true },
      { path: 'b.ts', status: 'ok', slow: undefined },
    ])
    const fine = toCheckJson(buildCheckReport(run([file('a.ts')]), { fileBudgetMs: 100, budgetMs: 1000 }))
    expect(Object.keys(fine)).toEqual(['ok', 'durationMs', 'files', 'workflows'])
    expect(Object.keys(fine.files[0] ?? {})).toEqual(['path', 'status', 'cached', 'durationMs', 'workflows', 'models'])
  })
})
