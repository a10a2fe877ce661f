import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { CheckJson } from '../../src/discovery/report.js'
import { runCli, type CliResult } from './run-cli.js'
import { findAll, parseXml } from './xml.js'

// End to end: `nexflow check` on fixtures/check/invalid-workflows, one file per case. Each of
// these workflows imports fine; the broken ones used to be reported `ok` and fail on their first
// request. The discovery worker checks them against the node types they will run with (the
// DataFlow model's generated nodes included).
const ROOT = 'fixtures/check/invalid-workflows'
const tmp = mkdtempSync(join(tmpdir(), 'nexflow-check-invalid-'))
const cache = join(tmp, 'cache')
const jsonFile = join(tmp, 'report.json')
const junitFile = join(tmp, 'junit.xml')
let cold: CliResult
let report: CheckJson

beforeAll(async () => {
  cold = await runCli(['check', ROOT, '--cache-dir', cache, '--no-cache', '--json', jsonFile, '--junit', junitFile], { killAfterMs: 60_000 })
  report = JSON.parse(readFileSync(jsonFile, 'utf8')) as CheckJson
}, 70_000)
afterAll(() => rmSync(tmp, { recursive: true, force: true }))

const fileAt = (path: string) => report.files.find((f) => f.path === `workflows/${path}`)

describe('nexflow check on workflows that cannot run', () => {
  it('fails the check, reporting each broken file invalid and the others ok', () => {
    expect(cold.code).toBe(1)
    expect(report.ok).toBe(false)
    expect(report.files.map((f) => [f.path, f.status])).toEqual([
      ['workflows/declared-input.ts', 'ok'],
      ['workflows/not-exported.ts', 'ok'],
      ['workflows/unknown-param.ts', 'invalid'],
      ['workflows/unknown-type.ts', 'invalid'],
      ['workflows/valid.ts', 'ok'],
      ['workflows/wrong-type.ts', 'invalid'],
    ])
    expect(report.workflows).toEqual(['declared-input', 'exported', 'valid'])
    expect(cold.stdout).toContain('nexflow check failed: 6 files, 3 failing (3 invalid), 3 workflows')
  })

  it('names an unknown node type and the registered one it most likely meant', () => {
    expect(fileAt('unknown-type.ts')?.error?.message).toBe('workflow "unknown-type" (export "workflow") cannot run: node "create" has unknown type "UserCreatNode"; did you mean "UserCreateNode"?')
  })

  it('names the workflow, node, param and zod issue of a config value of the wrong type', () => {
    expect(fileAt('wrong-type.ts')?.error?.message).toBe('workflow "wrong-type" (export "workflow") cannot run: node "create" (UserCreateNode) param "active": Invalid input: expected boolean, received string')
  })

  it('names a misspelled param key and the declared one it most likely meant', () => {
    expect(fileAt('unknown-param.ts')?.error?.message).toBe('workflow "unknown-param" (export "workflow") cannot run: node "create" (UserCreateNode) has unknown param "emial"; did you mean "email"?')
  })

  it('passes a required param nothing fills (a declared input) and a valid workflow', () => {
    expect(fileAt('declared-input.ts')).toMatchObject({ status: 'ok', workflows: ['declared-input'], models: ['User'] })
    expect(fileAt('declared-input.ts')?.error).toBeUndefined()
    expect(fileAt('valid.ts')).toMatchObject({ status: 'ok', workflows: ['valid'] })
  })

  it('warns about a workflow built but not exported, without failing the file', () => {
    const file = fileAt('not-exported.ts')
    expect(file).toMatchObject({ status: 'ok', workflows: ['exported'] })
    expect(file?.warnings).toEqual([expect.stringMatching(/^workflow "forgotten" is built by this file but not exported, so it is not served/)])
    expect(fileAt('valid.ts')?.warnings).toBeUndefined()
    expect(cold.stdout).toMatch(/workflows\/not-exported\.ts\s+ok\s+\d+\s+exported\n {2}warning: workflow "forgotten" is built by this file but not exported/)
  })

  it('shows the reason under each invalid row of the table, and as a JUnit error', () => {
    expect(cold.stdout).toMatch(/workflows\/wrong-type\.ts\s+invalid\s+\d+\s+-\n {2}-> workflow "wrong-type" \(export "workflow"\) cannot run: node "create" \(UserCreateNode\) param "active"/)
    const cases = findAll(parseXml(readFileSync(junitFile, 'utf8')), 'testcase')
    const wrongType = cases.find((c) => c.attributes.name === 'workflows/wrong-type.ts')
    expect(findAll(wrongType as NonNullable<typeof wrongType>, 'error')[0]?.attributes).toMatchObject({ type: 'invalid', message: expect.stringContaining('param "active"') })
  })

  it('keeps an invalid file failing from the cache, and annotates it and the warning for GitHub', async () => {
    await runCli(['check', ROOT, '--cache-dir', cache], { killAfterMs: 60_000 })
    const warm = await runCli(['check', ROOT, '--cache-dir', cache, '--github'], { env: { GITHUB_WORKSPACE: undefined }, killAfterMs: 60_000 })
    expect(warm.code).toBe(1)
    expect(warm.stdout).toMatch(/workflows\/unknown-type\.ts\s+invalid, cached/)
    expect(warm.stdout).toContain(`::error file=${ROOT}/workflows/unknown-type.ts,title=nexflow check%3A invalid::workflow "unknown-type" (export "workflow") cannot run`)
    expect(warm.stdout).toContain(`::warning file=${ROOT}/workflows/not-exported.ts,title=nexflow check%3A warning::workflow "forgotten" is built by this file but not exported`)
  }, 70_000)
})
