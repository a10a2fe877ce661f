import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { basename, join } from 'node:path'
import { threadId } from 'node:worker_threads'
import { afterAll, describe, expect, it } from 'vitest'
import { NexflowError } from '../../src/errors.js'
import { CONFIG_FILE_NAMES, findConfigFile, loadConfigFile, type LoadConfigFileOptions } from '../../src/server/config-file.js'
import { FIXTURES, killDescendants } from '../discovery/helpers.js'

const ROOT = join(FIXTURES, 'config')

/** For files that end by themselves: a deadline no loaded machine reaches, so no outcome is a timeout by accident. */
const SETTLE: LoadConfigFileOptions = { timeoutMs: 30_000 }
/**
 * For files that hang: short, but well after the worker has started and reached the hang (a
 * native hang killed before it began would stop like a JavaScript loop, not be abandoned).
 */
const HANG_TIMEOUT_MS = 4000
/** Generous: loadConfigFile's own bound is the deadline plus a half-second grace. */
const HANG_BOUND_MS = HANG_TIMEOUT_MS + 5000

/** The config file of a fixture folder. */
function fixture(name: string): string {
  const file = findConfigFile(join(ROOT, name))
  if (file === undefined) throw new Error(`fixtures/config/${name} has no config file`)
  return file
}

/** Loads a fixture that must fail, and checks what every failure says: its code and its file. */
async function failure(name: string, options: LoadConfigFileOptions = SETTLE): Promise<NexflowError> {
  const file = fixture(name)
  const error: unknown = await loadConfigFile(file, options).then(
    () => undefined,
    (thrown: unknown) => thrown,
  )
  expect(error).toBeInstanceOf(NexflowError)
  expect(error).toMatchObject({ code: 'CONFIG_INVALID', details: { file } })
  expect((error as NexflowError).message).toContain(`${name}/${basename(file)}`)
  return error as NexflowError
}

describe('findConfigFile', () => {
  it('looks for the five names', () => {
    expect(CONFIG_FILE_NAMES).toEqual(['nexflow.config.ts', 'nexflow.config.mts', 'nexflow.config.js', 'nexflow.config.mjs', 'nexflow.config.json'])
  })

  it('finds the config file at the root, as an absolute path', () => {
    expect(findConfigFile(join(ROOT, 'ts-ok'))).toBe(join(ROOT, 'ts-ok', 'nexflow.config.ts'))
    expect(findConfigFile(join(ROOT, 'json-ok'))).toBe(join(ROOT, 'json-ok', 'nexflow.config.json'))
  })

  it('finds nothing where there is none', () => {
    const empty = mkdtempSync(join(tmpdir(), 'nexflow-config-'))
    try {
      expect(findConfigFile(empty)).toBeUndefined()
    } finally {
      rmSync(empty, { recursive: true, force: true })
    }
  })

  it('refuses two config files, naming both', () => {
    let error: unknown
    try {
      findConfigFile(join(ROOT, 'two-files'))
    } catch (thrown) {
      error = thrown
    }
    expect(error).toBeInstanceOf(NexflowError)
    expect(error).toMatchObject({ code: 'CONFIG_INVALID', message: expect.stringMatching(/has 2 config files, nexflow\.config\.ts and nexflow\.config\.json; keep one$/) })
  })
})

describe('loadConfigFile: files that load', () => {
  it.concurrent.each([
    ['ts-ok', { apiPort: 0, runTimeoutMs: 1234 }],
    ['mjs-ok', { apiPort: 0, discovery: { timeoutMs: 2000, patterns: ['workflows/**/*.ts'] } }],
    ['json-ok', { apiPort: 0, discovery: { enabled: false } }],
    ['cjs-ok', { apiPort: 0, runTimeoutMs: 1000 }],
    ['cjs-esmodule', { apiPort: 0, runTimeoutMs: 2000 }],
  ])('%s returns its options as a plain object', async (name, expected) => {
    const value = await loadConfigFile(fixture(name), SETTLE)
    expect(value).toStrictEqual(expected)
    expect(Object.getPrototypeOf(value)).toBe(Object.prototype)
  })

  it('leaves out a key set to undefined', async () => {
    expect(Object.keys(await loadConfigFile(fixture('mjs-ok'), SETTLE))).not.toContain('auth')
  })

  it('evaluates a code file in a worker thread, never on the calling thread', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'nexflow-config-'))
    const record = join(dir, 'record.json')
    process.env.NEXFLOW_TEST_RECORD = record
    try {
      expect(await loadConfigFile(fixture('records-thread'), SETTLE)).toEqual({ apiPort: 0 })
      const where = JSON.parse(readFileSync(record, 'utf8')) as { isMainThread: boolean; threadId: number; pid: number; discovery: string | null }
      expect(where).toMatchObject({ isMainThread: false, pid: process.pid, discovery: '1' })
      expect(where.threadId).not.toBe(threadId)
      expect(process.env.NEXFLOW_DISCOVERY).toBeUndefined()
    } finally {
      delete process.env.NEXFLOW_TEST_RECORD
      rmSync(dir, { recursive: true, force: true })
    }
  })
})

describe('loadConfigFile: files that fail by themselves', () => {
  it('refuses a __proto__ key in JSON', async () => {
    const error = await failure('json-proto')
    expect(error.message).toContain('discovery.__proto__ is a key named "__proto__", which is not allowed')
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
  })

  it('refuses malformed JSON, saying where', async () => {
    expect((await failure('json-bad')).message).toMatch(/is not valid JSON: .*position \d+; fix its syntax/)
  })

  it('reports what the file threw, with what it printed', async () => {
    const error = await failure('throws')
    expect(error.message).toMatch(/nexflow\.config\.ts threw: Error: boom; it printed: loading the throwing config$/)
    expect(error.details.error).toMatchObject({ name: 'Error', message: 'boom', stack: expect.stringContaining('nexflow.config.ts') })
  })

  it('reports process.exit() with its code', async () => {
    const error = await failure('exits')
    expect(error.message).toContain('ended its thread while loading: process.exit(3)')
    expect(error.details.exitCode).toBe(3)
  })

  it('refuses a default export that is a function, and says what to export', async () => {
    expect((await failure('function-default')).message).toContain(
      'nexflow.config.mjs: the default export is a function; export the options object: export default defineConfig({ ... })',
    )
  })

  it('refuses a module without a default export, naming what it exports', async () => {
    expect((await failure('no-default')).message).toContain('nexflow.config.ts: it has no default export (it exports apiPort, runTimeoutMs); export the options object')
  })

  it('refuses options that are not plain data, naming where', async () => {
    expect((await failure('non-json')).message).toContain('the default export is not plain data: startedAt is a Date; options must be plain data')
  })

  it('refuses options nested more than 64 levels deep', async () => {
    expect((await failure('too-deep')).message).toContain('nests deeper than 64 levels')
  })

  it('refuses a forged message on the worker port as malformed', async () => {
    expect((await failure('forged-message')).message).toContain('sent a malformed message (value: apiPort is a Date); nothing it sent is trusted')
  })

  it('reports running out of memory with the limit', async () => {
    const error = await failure('memory-hog', { ...SETTLE, maxMemoryMb: 64 })
    expect(error.message).toContain('ran out of memory while loading (heap limit 64 MB)')
  })

  it('reports a top-level await that nothing can settle as soon as nothing is left to run', async () => {
    expect((await failure('never-settles')).message).toContain('never finished loading: its top-level await waits on something nothing left can settle')
  })

  it('refuses a file that does not exist', async () => {
    const file = join(ROOT, 'missing', 'nexflow.config.ts')
    await expect(loadConfigFile(file, SETTLE)).rejects.toMatchObject({ code: 'CONFIG_INVALID', message: expect.stringContaining('does not exist'), details: { file } })
  })

  it('refuses a JSON file over 1 MiB without parsing it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'nexflow-config-'))
    const file = join(dir, 'nexflow.config.json')
    writeFileSync(file, JSON.stringify({ blob: 'x'.repeat(1024 * 1024) }))
    try {
      await expect(loadConfigFile(file, SETTLE)).rejects.toMatchObject({ code: 'CONFIG_INVALID', message: expect.stringContaining('is larger than 1 MiB') })
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})

describe('loadConfigFile: files that hang', () => {
  // The `sleep` of native-hang keeps its abandoned thread alive; ending it lets the thread exit.
  afterAll(() => {
    killDescendants('sleep 30')
  })

  it('terminates a JavaScript loop at the deadline', async () => {
    const started = performance.now()
    const error = await failure('hangs', { timeoutMs: HANG_TIMEOUT_MS })
    const elapsed = performance.now() - started
    expect(error.message).toContain(`did not finish loading within ${HANG_TIMEOUT_MS} ms; a config file must not wait on anything at import`)
    expect(error.details).toMatchObject({ timeoutMs: HANG_TIMEOUT_MS, abandoned: false })
    // Node's timers run on the event loop's cached clock: they can fire a fraction of a ms early.
    expect(elapsed).toBeGreaterThanOrEqual(HANG_TIMEOUT_MS - 2)
    expect(elapsed).toBeLessThan(HANG_BOUND_MS)
  })

  it('abandons a thread blocked in native code, and still settles soon after the deadline', async () => {
    const started = performance.now()
    const error = await failure('native-hang', { timeoutMs: HANG_TIMEOUT_MS })
    const elapsed = performance.now() - started
    expect(error.message).toContain(`did not finish loading within ${HANG_TIMEOUT_MS} ms, and its thread did not stop`)
    expect(error.message).toContain('blocked in native code')
    expect(error.details).toMatchObject({ timeoutMs: HANG_TIMEOUT_MS, abandoned: true })
    expect(elapsed).toBeLessThan(HANG_BOUND_MS)
  })
})
