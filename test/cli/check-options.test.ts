import { mkdtempSync, mkdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { CHECK_DEFAULTS, CheckUsageError, parseCheckArgs } from '../../src/cli/check-options.js'
import { runCli } from './run-cli.js'

const cwd = mkdtempSync(join(tmpdir(), 'nexflow-check-options-'))
mkdirSync(join(cwd, 'app'))
afterAll(() => rmSync(cwd, { recursive: true, force: true }))

const parse = (...args: string[]) => parseCheckArgs(args, cwd)
const problem = (...args: string[]): string => {
  try {
    parse(...args)
  } catch (error) {
    expect(error).toBeInstanceOf(CheckUsageError)
    expect((error as CheckUsageError).code).toBe('CONFIG_INVALID')
    return (error as Error).message
  }
  throw new Error(`expected ${args.join(' ')} to be rejected`)
}

describe('nexflow check flags', () => {
  it('defaults to the current folder, the cache on, and discovery settings unset', () => {
    expect(parse()).toEqual({
      help: false,
      root: cwd,
      json: undefined,
      junit: undefined,
      github: CHECK_DEFAULTS.github,
      timeoutMs: undefined,
      budgetMs: undefined,
      fileBudgetMs: undefined,
      isolation: undefined,
      concurrency: undefined,
      maxMemoryMb: undefined,
      cache: true,
      cacheDir: undefined,
      patterns: undefined,
      ignore: undefined,
      allowEmpty: false,
    })
  })

  it('resolves every flag', () => {
    const options = parse(
      'app',
      '--junit', 'out/junit.xml',
      '--github',
      '--timeout-ms', '1500',
      '--budget-ms=20000',
      '--file-budget-ms', '300',
      '--isolation', 'process',
      '--concurrency', '3',
      '--max-memory-mb', '2048',
      '--no-cache',
      '--cache-dir', 'tmp/cache',
      '--pattern', 'jobs/**/*.ts',
      '--pattern', 'more/*.ts',
      '--ignore', '**/legacy/**',
      '--json', 'out/report.json',
      '--allow-empty',
    )
    expect(options).toEqual({
      help: false,
      root: join(cwd, 'app'),
      json: join(cwd, 'out/report.json'),
      junit: join(cwd, 'out/junit.xml'),
      github: true,
      timeoutMs: 1500,
      budgetMs: 20000,
      fileBudgetMs: 300,
      isolation: 'process',
      concurrency: 3,
      maxMemoryMb: 2048,
      cache: false,
      cacheDir: join(cwd, 'tmp/cache'),
      patterns: ['jobs/**/*.ts', 'more/*.ts'],
      ignore: ['**/legacy/**'],
      allowEmpty: true,
    })
  })

  it('refuses a single-value flag given twice, and --junit to stdout', () => {
    expect(() => parse('--junit', 'a.xml', '--junit', 'b.xml')).toThrow(/--junit: given more than once; give it once/)
    expect(() => parse('--json', '--json', 'j.json')).toThrow(/--json: given more than once/)
    expect(() => parse('--timeout-ms', '100', '--timeout-ms=200')).toThrow(/--timeout-ms: given more than once/)
    expect(() => parse('--junit=-')).toThrow(/--junit: expected a file to write, got "-"/)
    // Repeatable ones repeat.
    expect(parse('--pattern', 'a/*.ts', '--pattern', 'b/*.ts').patterns).toEqual(['a/*.ts', 'b/*.ts'])
  })

  it('sends --json to stdout when it has no file: last, before another flag, or given -', () => {
    expect(parse('app', '--json').json).toBe('-')
    expect(parse('--json', '--no-cache', 'app')).toMatchObject({ json: '-', root: join(cwd, 'app'), cache: false })
    expect(parse('--json', '-', 'app')).toMatchObject({ json: '-', root: join(cwd, 'app') })
    expect(parse('--json=r.json').json).toBe(join(cwd, 'r.json'))
  })

  it('rejects bad numbers naming the flag and an example', () => {
    expect(problem('--timeout-ms', 'soon')).toBe('--timeout-ms: expected a whole number of milliseconds from 1 to 2147483647, got "soon"; for example --timeout-ms 5000')
    expect(problem('--budget-ms', '0')).toContain('--budget-ms: expected a whole number of milliseconds from 1')
    expect(problem('--file-budget-ms', '1.5')).toContain('--file-budget-ms:')
    expect(problem('--timeout-ms', '9999999999')).toContain('--timeout-ms:')
    expect(problem('--concurrency', '-2')).toMatch(/concurrency/)
    expect(problem('--concurrency', '1000')).toBe('--concurrency: expected a whole number of workers from 1 to 256, got "1000"; for example --concurrency 4')
    // Discovery's own bounds: below 32 MB a worker cannot even load nexflow.
    expect(problem('--max-memory-mb', '16')).toBe('--max-memory-mb: expected a whole number of megabytes from 32 to 1048576, got "16"; for example --max-memory-mb 2048')
    expect(problem('--max-memory-mb', 'lots')).toContain('--max-memory-mb: expected a whole number of megabytes')
  })

  // Issue 9: Node's parser said "Unknown option '--timeout'. To specify a positional argument
  // starting with a '-' ..." and named no fix.
  it('suggests the closest flag for an unknown one, and lists the flags', () => {
    const flags = '--help, --json, --junit, --github, --timeout-ms, --budget-ms, --file-budget-ms, --isolation, --concurrency, --max-memory-mb, --no-cache, --allow-empty, --cache-dir, --pattern, --ignore'
    expect(problem('--timeout', '5000')).toBe(`unknown flag --timeout (did you mean --timeout-ms?); the flags are ${flags}`)
    expect(problem('app', '--paterns', 'x/*.ts')).toMatch(/^unknown flag --paterns \(did you mean --pattern\?\); the flags are /)
    expect(problem('--max-memory', '64')).toMatch(/^unknown flag --max-memory \(did you mean --max-memory-mb\?\);/)
    expect(problem('--frobnicate')).toBe(`unknown flag --frobnicate; the flags are ${flags}`)
  })

  it('reports every bad flag at once', () => {
    expect(problem('--timeout-ms', 'x', '--isolation', 'fork').split('\n')).toEqual([
      '--timeout-ms: expected a whole number of milliseconds from 1 to 2147483647, got "x"; for example --timeout-ms 5000',
      '--isolation: expected "thread" or "process", got "fork"; for example --isolation process',
    ])
  })

  it('rejects unknown flags, missing values and extra arguments', () => {
    expect(problem('--frobnicate')).toContain('unknown flag --frobnicate')
    expect(problem('--junit')).toContain('--junit')
    expect(problem('app', 'other')).toBe('unexpected extra argument "other": nexflow check takes one root folder (put globs after --pattern)')
    expect(problem('--pattern', '')).toContain('--pattern: expected a value')
    expect(problem('--pattern', '../other/**/*.ts')).toBe(
      `--pattern: "../other/**/*.ts" reaches outside the root; patterns are relative to the root, e.g. --pattern 'jobs/**/*.ts' (to check another folder, pass it as the root)`,
    )
    expect(problem('--pattern', '/abs/*.ts')).toContain('reaches outside the root')
  })

  it('rejects a root that is missing or not a folder', () => {
    expect(problem('nope')).toBe(`root "${join(cwd, 'nope')}" does not exist; pass the folder of the app to check, e.g. nexflow check ./my-app`)
    expect(problem('--json', 'app')).toContain('--json: "app" is a folder. To print JSON while checking it, put the root first (nexflow check app --json)')
    expect(problem('--junit', 'app')).toContain('--junit:')
  })

  it('refuses JSON and GitHub annotations both on stdout', () => {
    expect(problem('--json', '--github')).toContain('--json and --github both want stdout')
    expect(parse('--json', 'r.json', '--github').github).toBe(true)
  })

  it('skips path checks for --help', () => {
    expect(parse('nope', '--help').help).toBe(true)
  })
})

describe('nexflow check --max-memory-mb', () => {
  it('is the heap limit of each discovery worker (the option existed in the API only)', async () => {
    const cacheDir = join(cwd, 'memory-cache')
    const result = await runCli(['check', 'fixtures/hostile', '--pattern', 'workflows/memory-hog.ts', '--no-cache', '--cache-dir', cacheDir, '--max-memory-mb', '64', '--json'])
    expect(result.code).toBe(1)
    const report = JSON.parse(result.stdout) as { files: { path: string; status: string; error?: { message: string } }[] }
    expect(report.files).toMatchObject([{ path: 'workflows/memory-hog.ts', status: 'oom', error: { message: expect.stringContaining('heap limit 64 MB per worker') } }])
  })
})
