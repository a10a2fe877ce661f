import { afterAll, describe, expect, it } from 'vitest'
import { discover } from '../../src/discovery/index.js'
import { tempProject } from './helpers.js'

// Regression (issue 9): a root without candidates came back as an ordinary, empty success; only
// the CLI said that nothing was found.
describe('discovery of a root without candidate files', () => {
  const project = tempProject({
    'package.json': '{ "type": "module" }',
    'src/index.ts': 'export const notAWorkflowFile = true\n',
    'jobs/nightly.ts': 'export const nightly = true\n',
  })
  afterAll(() => project.remove())

  it('says so: noFiles and a warning naming the root and the default patterns', async () => {
    const report = await discover({ root: project.root, cache: false }).report
    expect(report).toMatchObject({ ok: true, files: [], workflows: [], noFiles: true })
    expect(report.warnings).toEqual([
      `no candidate files under ${report.root}: no file matches the default patterns (workflows/**/*, src/workflows/**/*, app/workflows/**/*, **/*.workflow.*, ...) outside the ignores; check the root and the patterns`,
    ])
  })

  it('names the patterns it was given', async () => {
    const report = await discover({ root: project.root, cache: false, patterns: ['flows/**/*.ts', 'other/*.ts'] }).report
    expect(report.noFiles).toBe(true)
    expect(report.warnings).toEqual([
      `no candidate files under ${report.root}: no file matches the patterns "flows/**/*.ts", "other/*.ts" outside the ignores; check the root and the patterns`,
    ])
  })

  it('is false, with no such warning, once a pattern matches', async () => {
    const report = await discover({ root: project.root, cache: false, patterns: ['jobs/**/*.ts'] }).report
    expect(report.noFiles).toBe(false)
    expect(report.files.map((file) => file.relativePath)).toEqual(['jobs/nightly.ts'])
    expect(report.warnings).toEqual([])
  })
})
