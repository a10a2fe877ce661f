import { existsSync, readFileSync, rmSync } from 'node:fs'
import Database from 'better-sqlite3'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CACHE_FILE } from '../../src/discovery/cache.js'
import { discover, type DiscoveryOptions, type DiscoveryReport } from '../../src/discovery/index.js'
import { byPath, REPO, tempProject } from './helpers.js'

/**
 * Files that hang wait out this deadline, so it is short; files that import must finish well
 * within it even on a loaded machine, so they import only the builder module, which a discovery
 * worker has loaded before its first file (importing all of nexflow takes a loaded machine about
 * a second).
 */
const TIMEOUT_MS = 2000
const BUILDER = join(REPO, 'src', 'workflow', 'builder.ts')

/** A file that appends its name to NEXFLOW_EVAL_LOG whenever it is evaluated. */
const logged = (name: string, body: string) => `import { appendFileSync } from 'node:fs'
appendFileSync(process.env.NEXFLOW_EVAL_LOG as string, ${JSON.stringify(name)} + '\\n')
${body}
`

const builder = (imports = '') => `${imports}
import { WorkflowBuilder } from ${JSON.stringify(BUILDER)}
export default new WorkflowBuilder().addNode('Function', 'n', { code: '() => ({})' })
`

// Sequential whatever the runner is told: each test changes the project and its cache for the next.
describe.sequential('manifest cache', () => {
  const project = tempProject({
    'package.json': '{ "type": "module" }',
    'lib/shared.ts': logged('shared', 'export const shared = 1'),
    'workflows/a.ts': logged('a', builder("import { shared } from '../lib/shared.js'\nexport const uses = shared")),
    'workflows/b.ts': logged('b', builder()),
    'workflows/hang.ts': logged('hang', 'await new Promise(() => {})'),
    'workflows/broken.ts': logged('broken', "import '../lib/shared.js'\nthrow new Error('broken at import')"),
  })
  const log = join(project.root, 'evaluations.log')
  // A hanging file here stops at terminate(); the grace only has to be long enough that it is
  // never taken for stuck on a loaded machine.
  const options: DiscoveryOptions = { root: project.root, timeoutMs: TIMEOUT_MS, stuckGraceMs: 3000 }
  const evaluated = () => (existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n').filter(Boolean) : [])
  const run = async (extra: DiscoveryOptions = {}) => {
    const before = evaluated().length
    const report = await discover({ ...options, ...extra }).report
    // Which modules were evaluated (a worker evaluates a module once, each worker may do it).
    return { report, files: byPath(report), evaluated: [...new Set(evaluated().slice(before))].sort() }
  }
  let cold: DiscoveryReport

  beforeAll(async () => {
    process.env.NEXFLOW_EVAL_LOG = log
    cold = (await run()).report
  })
  afterAll(() => {
    delete process.env.NEXFLOW_EVAL_LOG
    project.remove()
  })

  it('imports everything on a cold start and keeps the cache under .nexflow/', () => {
    expect(cold.files.map((file) => [file.relativePath, file.status, file.cached])).toEqual([
      ['workflows/a.ts', 'ok', false],
      ['workflows/b.ts', 'ok', false],
      ['workflows/broken.ts', 'error', false],
      ['workflows/hang.ts', 'timeout', false],
    ])
    expect(existsSync(join(project.root, '.nexflow', CACHE_FILE))).toBe(true)
  })

  it('re-imports nothing on a warm restart of an unchanged project', async () => {
    const warm = await run()
    expect(warm.evaluated).toEqual([])
    expect(warm.report.files.every((file) => file.cached)).toBe(true)
    // Cached results keep the time measured when the file was imported.
    expect(warm.report.files.map((file) => [file.status, file.durationMs, file.workflows])).toEqual(cold.files.map((file) => [file.status, file.durationMs, file.workflows]))
    expect(warm.files['workflows/a.ts']?.manifest).toEqual(byPath(cold)['workflows/a.ts']?.manifest)
    // The quarantined file is reported from the cache, not waited for again.
    expect(warm.report.durationMs).toBeLessThan(TIMEOUT_MS)
  })

  it('re-imports exactly the files whose imports changed', async () => {
    project.write('lib/shared.ts', logged('shared', 'export const shared = 2'))
    const next = await run()
    expect(next.evaluated).toEqual(['a', 'broken', 'shared'])
    expect(next.files['workflows/a.ts']).toMatchObject({ status: 'ok', cached: false })
    expect(next.files['workflows/broken.ts']).toMatchObject({ status: 'error', cached: false })
    expect(next.files['workflows/b.ts']).toMatchObject({ cached: true })
    expect(next.files['workflows/hang.ts']).toMatchObject({ status: 'timeout', cached: true })
  })

  it('keeps a failed file quarantined until it changes', async () => {
    const quarantined = await run()
    expect(quarantined.files['workflows/hang.ts']).toMatchObject({ status: 'timeout', cached: true, error: { code: 'DISCOVERY_TIMEOUT' } })
    expect(quarantined.files['workflows/broken.ts']).toMatchObject({ status: 'error', cached: true, error: { message: 'broken at import' } })
    expect(quarantined.evaluated).toEqual([])

    project.write('workflows/hang.ts', logged('hang', builder()))
    const fixed = await run()
    expect(fixed.evaluated).toEqual(['hang'])
    expect(fixed.files['workflows/hang.ts']).toMatchObject({ status: 'ok', cached: false, workflows: ['hang'] })
  })

  it('tries a timed-out file again under a longer deadline, but keeps files that imported', async () => {
    project.write('workflows/slow.ts', logged('slow', 'await new Promise(() => {})'))
    expect((await run()).files['workflows/slow.ts']).toMatchObject({ status: 'timeout', cached: false })
    const longer = await run({ timeoutMs: TIMEOUT_MS + 500 })
    expect(longer.evaluated).toEqual(['slow'])
    expect(longer.files['workflows/b.ts']).toMatchObject({ cached: true })
  })

  it('ignores the cache with cache: false', async () => {
    const fresh = await run({ cache: false })
    expect(fresh.report.files.every((file) => !file.cached)).toBe(true)
    expect(fresh.evaluated).toEqual(['a', 'b', 'broken', 'hang', 'shared', 'slow'])
  })

  it('survives a corrupt cache file by starting a new one', async () => {
    project.write(`.nexflow/${CACHE_FILE}`, 'this is not a database')
    const rebuilt = await run()
    expect(rebuilt.report.files.every((file) => !file.cached)).toBe(true)
    expect((await run()).report.files.every((file) => file.cached)).toBe(true)
  })
})

describe('manifest cache and failures that are not the file\'s', () => {
  // tsx cannot start with a tsconfig.json that extends a missing file: no worker boots.
  const project = tempProject({
    'package.json': '{ "type": "module" }',
    'tsconfig.json': '{ "extends": "./missing-base.json" }',
    'workflows/fine.ts': 'export const fine = true\n',
  })
  afterAll(() => project.remove())

  it('does not quarantine a file that failed because workers could not start', async () => {
    const options: DiscoveryOptions = { root: project.root, timeoutMs: TIMEOUT_MS }
    const broken = byPath((await discover(options).report))['workflows/fine.ts']
    expect(broken).toMatchObject({ status: 'crashed', cached: false, error: { message: expect.stringContaining('discovery workers fail to start') } })
    // Still broken: tried again, not reported from the cache.
    expect(byPath((await discover(options).report))['workflows/fine.ts']).toMatchObject({ status: 'crashed', cached: false })
    project.write('tsconfig.json', '{}')
    expect(byPath((await discover(options).report))['workflows/fine.ts']).toMatchObject({ status: 'empty', cached: false })
  })
})

describe('manifest cache and a module that does not exist yet', () => {
  const project = tempProject({
    'package.json': '{ "type": "module" }',
    'workflows/uses-generated.ts': "import { value } from '../lib/generated.js'\nexport const uses = value\n",
  })
  afterAll(() => project.remove())

  it('does not quarantine a file whose local import could not be found: it is tried again once that module exists', async () => {
    const options: DiscoveryOptions = { root: project.root, timeoutMs: TIMEOUT_MS }
    const result = async () => byPath((await discover(options).report))['workflows/uses-generated.ts']
    expect(await result()).toMatchObject({ status: 'error', cached: false, error: { message: expect.stringContaining('Cannot find module') } })
    expect(await result()).toMatchObject({ status: 'error', cached: false })
    project.write('lib/generated.ts', 'export const value = 1\n')
    expect(await result()).toMatchObject({ status: 'empty', cached: false })
    expect(await result()).toMatchObject({ status: 'empty', cached: true })
  })
})

describe('manifest cache key', () => {
  const project = tempProject({
    'package.json': '{ "type": "module" }',
    'tsconfig.json': '{ "compilerOptions": { "strict": true } }',
    'workflows/fine.ts': 'export const fine = true\n',
  })
  afterAll(() => project.remove())
  const options: DiscoveryOptions = { root: project.root, timeoutMs: TIMEOUT_MS }
  /** This run's result for the one file, which imports nothing: cached or not is the point. */
  const fine = async () => byPath((await discover(options).report))['workflows/fine.ts']

  it('includes the tsconfig.json tsx compiles with: changing it re-imports every file', async () => {
    expect(await fine()).toMatchObject({ status: 'empty', cached: false })
    expect(await fine()).toMatchObject({ status: 'empty', cached: true })
    // Compiler settings change what a module does (decorators, JSX, paths): the manifest is stale.
    project.write('tsconfig.json', '{ "compilerOptions": { "strict": true, "experimentalDecorators": true } }')
    expect(await fine()).toMatchObject({ status: 'empty', cached: false })
    expect(await fine()).toMatchObject({ status: 'empty', cached: true })
  })

  it('includes the package.json nearest the root: its "type" decides what a .ts file is', async () => {
    await fine()
    expect(await fine()).toMatchObject({ cached: true })
    project.write('package.json', '{ "type": "commonjs" }')
    expect(await fine()).toMatchObject({ status: 'empty', cached: false })
    project.write('package.json', '{ "type": "module" }')
  })

  it('includes DATABASE_URL, which a DataFlow created without a URL describes', async () => {
    const previous = process.env.DATABASE_URL
    try {
      await fine()
      expect(await fine()).toMatchObject({ cached: true })
      process.env.DATABASE_URL = 'sqlite:///tmp/nexflow-cache-key-test.db'
      expect(await fine()).toMatchObject({ cached: false })
      expect(await fine()).toMatchObject({ cached: true })
    } finally {
      if (previous === undefined) delete process.env.DATABASE_URL
      else process.env.DATABASE_URL = previous
    }
  })

  it('forgets files that no longer exist', async () => {
    project.write('workflows/gone.ts', 'export const gone = true\n')
    await discover(options).report
    const rows = () => {
      const db = new Database(join(project.root, '.nexflow', CACHE_FILE), { readonly: true })
      try {
        return db.prepare('SELECT path FROM files').pluck().all() as string[]
      } finally {
        db.close()
      }
    }
    expect(rows()).toContain(join(project.root, 'workflows', 'gone.ts'))
    rmSync(join(project.root, 'workflows', 'gone.ts'))
    await discover(options).report
    expect(rows()).not.toContain(join(project.root, 'workflows', 'gone.ts'))
    expect(rows()).toContain(join(project.root, 'workflows', 'fine.ts'))
  })
})
