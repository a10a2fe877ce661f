import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import type { CheckJson } from '../../src/discovery/report.js'
import { fileAppears } from '../file-appears.js'
import { REPO, runCli } from './run-cli.js'
import { findAll, parseXml } from './xml.js'

// End to end: the real CLI in a child process, against the roots under fixtures/check and
// fixtures/apps. Caches go to a temporary folder, never into the fixtures.
const tmp = mkdtempSync(join(tmpdir(), 'nexflow-check-e2e-'))
afterAll(() => rmSync(tmp, { recursive: true, force: true }))
let n = 0
const fresh = (name: string) => join(tmp, `${n++}-${name}`)

const json = (stdout: string) => JSON.parse(stdout) as CheckJson
const summary = (file: CheckJson['files'][number]) => ({ path: file.path, status: file.status, workflows: file.workflows })

describe('nexflow check on a healthy app', () => {
  it('exits 0 and writes the JSON and JUnit reports', async () => {
    const junit = join(fresh('reports'), 'junit.xml')
    const result = await runCli(['check', 'fixtures/check/healthy', '--cache-dir', fresh('cache'), '--junit', junit, '--json'])
    expect(result.stderr).toContain('nexflow check passed: 2 files (2 ok), 2 workflows')
    expect(result.code).toBe(0)
    const report = json(result.stdout)
    expect(report).toMatchObject({ ok: true, workflows: ['double-it', 'greet'] })
    expect(report.files.map(summary)).toEqual([
      { path: 'workflows/double.ts', status: 'ok', workflows: ['double-it'] },
      { path: 'workflows/greet.ts', status: 'ok', workflows: ['greet'] },
    ])
    for (const file of report.files) expect(Object.keys(file)).toEqual(['path', 'status', 'cached', 'durationMs', 'workflows', 'models'])
    const xml = parseXml(readFileSync(junit, 'utf8'))
    expect(findAll(xml, 'testcase').map((c) => c.attributes.name)).toEqual(['workflows/double.ts', 'workflows/greet.ts'])
    expect(findAll(xml, 'testsuite')[0]?.attributes).toMatchObject({ tests: '2', failures: '0', errors: '0' })
  })

  it('prints a plain table and a one-line summary when stdout is not a TTY', async () => {
    const result = await runCli(['check', 'fixtures/check/healthy', '--no-cache', '--cache-dir', fresh('cache')])
    expect(result.code).toBe(0)
    const lines = result.stdout.trimEnd().split('\n')
    expect(lines[0]).toMatch(/^FILE\s+STATUS\s+MS\s+WORKFLOWS$/)
    expect(lines[1]).toMatch(/^workflows\/double\.ts\s+ok\s+\d+\s+double-it$/)
    expect(lines[2]).toMatch(/^workflows\/greet\.ts\s+ok\s+\d+\s+greet$/)
    expect(lines[3]).toMatch(/^nexflow check passed: 2 files \(2 ok\), 2 workflows in \d+\.\d\d s$/)
    expect(lines).toHaveLength(4)
    expect(result.stdout).not.toContain('\u001b')
  })

  it('answers a restart from the manifest cache, and --no-cache re-imports', async () => {
    const cache = fresh('cache')
    await runCli(['check', 'fixtures/check/healthy', '--cache-dir', cache])
    const warm = json((await runCli(['check', 'fixtures/check/healthy', '--cache-dir', cache, '--json'])).stdout)
    expect(warm.files.map((f) => f.cached)).toEqual([true, true])
    expect(warm.ok).toBe(true)
    const cold = json((await runCli(['check', 'fixtures/check/healthy', '--cache-dir', cache, '--no-cache', '--json'])).stdout)
    expect(cold.files.map((f) => f.cached)).toEqual([false, false])
  })

  it('exits with its own code, quietly, when the reader of its output goes away', async () => {
    const result = await runCli(['check', 'fixtures/check/hostile', '--no-cache', '--cache-dir', fresh('cache'), '--json'], { closeStdout: true })
    expect(result.code).toBe(1)
    expect(result.stderr).not.toContain('EPIPE')
    expect(result.stderr).toContain('nexflow check failed')
  })

  it('honours --pattern and --ignore', async () => {
    const only = json((await runCli(['check', 'fixtures/check/healthy', '--no-cache', '--cache-dir', fresh('cache'), '--pattern', 'workflows/g*.ts', '--json'])).stdout)
    expect(only.files.map((f) => f.path)).toEqual(['workflows/greet.ts'])
    const ignored = json((await runCli(['check', 'fixtures/check/healthy', '--no-cache', '--cache-dir', fresh('cache'), '--ignore', '**/greet.ts', '--json'])).stdout)
    expect(ignored.files.map((f) => f.path)).toEqual(['workflows/double.ts'])
  })
})

describe('nexflow check on the seed scenario (DataFlow models doing I/O at import)', () => {
  // With --concurrency 1 both files go through one thread, which evaluates the models module
  // (and its import-time I/O) once per file.
  for (const [label, flags] of [
    ['thread isolation', ['--isolation', 'thread']],
    ['thread isolation, one worker', ['--isolation', 'thread', '--concurrency', '1']],
    ['process isolation', ['--isolation', 'process']],
  ] as const) {
    it(`finds both workflows, ok, and finishes (${label})`, async () => {
      const db = join(mkdtempSync(join(tmp, 'db-')), 'seed.db')
      const result = await runCli(['check', 'fixtures/apps/seed-scenario', ...flags, '--no-cache', '--cache-dir', fresh('cache'), '--json'], {
        env: { NEXFLOW_SEED_DB: `sqlite://${db}` },
      })
      expect(result.stderr).toContain('nexflow check passed')
      expect(result.code).toBe(0)
      const report = json(result.stdout)
      expect(report.workflows).toEqual(['create-session', 'create-user'])
      expect(report.files.map(summary)).toEqual([
        { path: 'workflows/create-session.ts', status: 'ok', workflows: ['create-session'] },
        { path: 'workflows/create-user.ts', status: 'ok', workflows: ['create-user'] },
      ])
      for (const file of report.files) expect(file.models.sort()).toEqual(['Session', 'User'])
    })
  }
})

describe('nexflow check failures', () => {
  it('exits 1 for a file that throws, reporting it as error beside the healthy one', async () => {
    const result = await runCli(['check', 'fixtures/check/hostile', '--no-cache', '--cache-dir', fresh('cache'), '--json', join(fresh('out'), 'report.json'), '--github'], {
      env: { GITHUB_WORKSPACE: undefined },
    })
    expect(result.code).toBe(1)
    expect(result.stdout).toContain('nexflow check failed: 2 files, 1 failing (1 error), 1 workflow')
    expect(result.stdout).toContain('::error file=fixtures/check/hostile/workflows/throws.ts,title=nexflow check%3A error::refusing to load: <config> & "secrets" missing')
  })

  it('reports the throwing file in the JSON with its message', async () => {
    const out = join(fresh('out'), 'report.json')
    const result = await runCli(['check', 'fixtures/check/hostile', '--no-cache', '--cache-dir', fresh('cache'), '--json', out])
    expect(result.code).toBe(1)
    const report = JSON.parse(readFileSync(out, 'utf8')) as CheckJson
    expect(report.ok).toBe(false)
    expect(report.files.map(summary)).toEqual([
      { path: 'workflows/fine.ts', status: 'ok', workflows: ['fine'] },
      { path: 'workflows/throws.ts', status: 'error', workflows: [] },
    ])
    expect(report.files[1]?.error?.message).toBe('refusing to load: <config> & "secrets" missing')
  })

  it('exits 1 and marks a file over --file-budget-ms slow, keeping its status', async () => {
    const result = await runCli(['check', 'fixtures/check/slow', '--no-cache', '--cache-dir', fresh('cache'), '--file-budget-ms', '100', '--json'])
    expect(result.code).toBe(1)
    const report = json(result.stdout)
    expect(report).toMatchObject({ ok: false, files: [{ path: 'workflows/slow.ts', status: 'ok', slow: true }] })
    expect(report.overBudget).toBeUndefined()
    expect(result.stderr).toContain('nexflow check failed: 1 file, 1 failing (1 slow)')
  })

  it('exits 1 for a run over --budget-ms', async () => {
    const result = await runCli(['check', 'fixtures/check/slow', '--no-cache', '--cache-dir', fresh('cache'), '--budget-ms', '100', '--json'])
    expect(result.code).toBe(1)
    expect(json(result.stdout)).toMatchObject({ ok: false, overBudget: true, files: [{ status: 'ok' }] })
    expect(result.stderr).toMatch(/over the 100 ms budget/)
  })

  it('exits 0 within generous budgets', async () => {
    const result = await runCli(['check', 'fixtures/check/slow', '--no-cache', '--cache-dir', fresh('cache'), '--budget-ms', '20000', '--file-budget-ms', '10000'])
    expect(result.stdout).toMatch(/nexflow check passed: 1 file \(1 ok\), 1 workflow in [\d.]+ s, within the 20000 ms budget/)
    expect(result.code).toBe(0)
  })

  it('exits 2 naming a bad flag and its fix', async () => {
    for (const [args, expected] of [
      [['fixtures/check/healthy', '--timeout-ms', 'soon'], '--timeout-ms: expected a whole number of milliseconds'],
      [['fixtures/check/healthy', '--isolation', 'fork'], '--isolation: expected "thread" or "process", got "fork"'],
      [['fixtures/check/healthy', '--frobnicate'], 'unknown flag --frobnicate'],
      [['fixtures/check/missing'], 'does not exist; pass the folder of the app to check'],
    ] as const) {
      const result = await runCli(['check', ...args])
      expect(result.code).toBe(2)
      expect(result.stderr).toContain(expected)
      expect(result.stderr).toContain('Run "nexflow check --help" for usage.')
      expect(result.stdout).toBe('')
    }
  })

  it('prints its help', async () => {
    const result = await runCli(['check', '--help'])
    expect(result.code).toBe(0)
    expect(result.stdout).toContain('Usage: nexflow check [root] [options]')
  })
})

describe('nexflow check and what it cannot check', () => {
  it('fails a root without candidate files (a wrong root or pattern must not pass), unless --allow-empty', async () => {
    const empty = fresh('empty')
    mkdirSync(empty)
    const failing = await runCli(['check', empty, '--cache-dir', fresh('cache'), '--json'])
    expect(failing.code).toBe(1)
    expect(failing.stderr).toContain('no candidate files under')
    expect(failing.stderr).toContain('--allow-empty')
    expect(json(failing.stdout)).toMatchObject({ ok: false, noFiles: true, files: [] })
    const typo = await runCli(['check', 'fixtures/check/healthy', '--cache-dir', fresh('cache'), '--pattern', 'workflow/**/*.ts'])
    expect(typo.code).toBe(1)
    const allowed = await runCli(['check', empty, '--cache-dir', fresh('cache'), '--allow-empty'])
    expect(allowed.code).toBe(0)
    expect(allowed.stdout).toContain('nexflow check passed: 0 files')
  })

  it('prints the table and summary, writes the other reports, and exits 2 when a report file cannot be written', async () => {
    const reports = fresh('reports')
    // Its folder is writable, so nothing is caught before discovery runs; the name is too long to create.
    const unwritable = join(reports, `${'x'.repeat(300)}.json`)
    const junit = join(reports, 'junit.xml')
    const result = await runCli(['check', 'fixtures/check/healthy', '--cache-dir', fresh('cache'), '--json', unwritable, '--junit', junit])
    expect(result.code).toBe(2)
    expect(result.stdout).toMatch(/workflows\/double\.ts\s+ok/)
    expect(result.stdout).toContain('nexflow check passed: 2 files')
    expect(result.stderr).toMatch(/--json: cannot write ".*xxxx\.json": .*ENAMETOOLONG/)
    expect(findAll(parseXml(readFileSync(junit, 'utf8')), 'testcase')).toHaveLength(2)
  })

  it('on Ctrl-C exits 130, listing what finished (the files missing are the ones still importing)', async () => {
    const app = fresh('interrupted')
    const marker = join(app, 'quick-evaluated')
    mkdirSync(join(app, 'workflows'), { recursive: true })
    writeFileSync(join(app, 'package.json'), '{ "type": "module" }')
    writeFileSync(join(app, 'workflows', 'quick.ts'), 'export const quick = true\n')
    // Files go to workers in path order, and with one worker, wait.ts begins only as quick.ts is
    // reported (in the same message): once wait.ts has written its marker, quick.ts's report is
    // on its way to the CLI's main thread, ahead of the Ctrl-C.
    writeFileSync(join(app, 'workflows', 'wait.ts'), `import { writeFileSync } from 'node:fs'\nwriteFileSync(${JSON.stringify(marker)}, '')\nawait new Promise(() => {})\nexport const never = true\n`)
    const result = await runCli(['check', app, '--no-cache', '--cache-dir', fresh('cache'), '--timeout-ms', '60000', '--concurrency', '1', '--json', join(app, 'report.json')], { interruptWhen: fileAppears(marker) })
    expect(result.code).toBe(130)
    expect(result.stdout).toMatch(/workflows\/quick\.ts\s+empty/)
    expect(result.stdout).not.toContain('wait.ts')
    expect(result.stderr).toContain('interrupted after 1 file was reported; files not listed were still being imported; no report files were written')
    expect(existsSync(join(app, 'report.json'))).toBe(false)
  }, 30_000)

  it('annotates files relative to a workspace reached through a link', async () => {
    const link = fresh('workspace-link')
    symlinkSync(REPO, link)
    const result = await runCli(['check', 'fixtures/check/hostile', '--no-cache', '--cache-dir', fresh('cache'), '--github', '--timeout-ms', '3000'], { env: { GITHUB_WORKSPACE: link } })
    expect(result.code).toBe(1)
    expect(result.stdout).toContain('::error file=fixtures/check/hostile/')
    expect(result.stdout).not.toContain('file=../')
  }, 30_000)
})

describe('nexflow check with a thread stuck in native code', () => {
  const TIMEOUT_MS = 1000
  // CLI start (tsx), worker start, the deadline, discovery's grace before abandoning the thread:
  // about 3 s on a quiet machine, over 8 s with other suites on the cores. The bound stays well
  // under the fixture's 20 s native call, which is what it proves the check does not wait for.
  const MARGIN_MS = 12_000

  for (const [isolation, status] of [
    ['thread', 'stuck'],
    ['process', 'timeout'],
  ] as const) {
    it(`exits 1 within the timeout plus a margin (${isolation} isolation), reporting the file ${status}`, async () => {
      const result = await runCli(['check', 'fixtures/check/stuck', '--isolation', isolation, '--timeout-ms', String(TIMEOUT_MS), '--no-cache', '--cache-dir', fresh('cache'), '--json'])
      expect(result.code).toBe(1)
      expect(result.ms).toBeLessThan(TIMEOUT_MS + MARGIN_MS)
      expect(json(result.stdout).files.map(summary)).toEqual([
        { path: 'workflows/fine.ts', status: 'ok', workflows: ['fine'] },
        { path: 'workflows/stuck.ts', status, workflows: [] },
      ])
    })
  }
})
