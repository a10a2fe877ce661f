import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import { CACHE_FILE, ManifestCache } from '../../src/discovery/cache.js'
import { discover } from '../../src/discovery/index.js'
import type { SettledOutcome } from '../../src/discovery/outcome.js'
import { tempProject } from './helpers.js'

const KEYS = { base: 'base', limits: 'limits' }
const OUTCOME: SettledOutcome = { kind: 'failed', status: 'error', error: { name: 'Error', message: 'boom' }, durationMs: 1, imports: [] }

// Regression (issue 9): `ManifestCache.open` deleted the database on any error, so a cache that
// was merely busy (another run writing it) or out of reach was thrown away.
describe('opening the manifest cache', () => {
  const project = tempProject({})
  let n = 0
  /** A fresh cache folder, and the database file in it. */
  const fresh = () => {
    const dir = join(project.root, `cache-${n++}`)
    mkdirSync(dir)
    return { dir, file: join(dir, CACHE_FILE) }
  }
  const open: ManifestCache[] = []
  const opened = async (dir: string) => {
    const cache = await ManifestCache.open(dir, KEYS)
    open.push(cache)
    return cache
  }
  afterEach(() => {
    for (const cache of open.splice(0)) cache.close()
  })
  afterAll(() => project.remove())

  it('replaces a file that is not a database (SQLITE_NOTADB)', async () => {
    const { dir, file } = fresh()
    writeFileSync(file, 'this is not a database, only text where the cache should be')
    const cache = await opened(dir)
    expect(cache.has('/x.ts')).toBe(false)
    expect(readFileSync(file).subarray(0, 15).toString()).toBe('SQLite format 3')
  })

  it('replaces a corrupt database (SQLITE_CORRUPT)', async () => {
    const { dir, file } = fresh()
    const db = new Database(file)
    db.exec('CREATE TABLE t (x); INSERT INTO t VALUES (1), (2)')
    db.close()
    // The header stays valid, every page after it is garbage.
    const bytes = readFileSync(file)
    bytes.fill(0xab, 100)
    writeFileSync(file, bytes)
    const cache = await opened(dir)
    cache.store('/x.ts', 'h', [], OUTCOME)
    cache.close()
    expect((await opened(dir)).has('/x.ts')).toBe(true)
  })

  it('leaves a busy database alone and reports the error', async () => {
    const { dir, file } = fresh()
    const first = await ManifestCache.open(dir, KEYS)
    first.store('/kept.ts', 'h', [], OUTCOME)
    first.close()
    const inode = statSync(file).ino
    // Another process in the middle of a write: in rollback-journal mode an exclusive lock keeps
    // every other connection out until it commits.
    const holder = new Database(file)
    try {
      holder.pragma('journal_mode = DELETE')
      holder.exec('BEGIN EXCLUSIVE')
      await expect(ManifestCache.open(dir, KEYS)).rejects.toMatchObject({ code: 'SQLITE_BUSY' })
      holder.exec('COMMIT')
    } finally {
      holder.close()
    }
    expect(statSync(file).ino).toBe(inode)
    expect((await opened(dir)).has('/kept.ts')).toBe(true)
  })

  it('leaves a folder where the database file belongs alone and reports the error (SQLITE_CANTOPEN)', async () => {
    const { dir, file } = fresh()
    mkdirSync(file)
    writeFileSync(join(file, 'keep.txt'), 'not ours')
    await expect(ManifestCache.open(dir, KEYS)).rejects.toMatchObject({ code: 'SQLITE_CANTOPEN' })
    expect(readFileSync(join(file, 'keep.txt'), 'utf8')).toBe('not ours')
  })
})

describe('discovery with a cache it cannot open', () => {
  const project = tempProject({
    'package.json': '{ "type": "module" }',
    'workflows/fine.ts': 'export const fine = true\n',
  })
  afterAll(() => project.remove())

  it('imports every file, warns, and leaves what is in the way untouched', async () => {
    const cacheDir = join(project.root, '.nexflow')
    mkdirSync(join(cacheDir, CACHE_FILE), { recursive: true })
    const report = await discover({ root: project.root, timeoutMs: 5000 }).report
    expect(report.files.map((file) => [file.relativePath, file.status, file.cached])).toEqual([['workflows/fine.ts', 'empty', false]])
    expect(report.warnings).toEqual([
      `the discovery cache in ${cacheDir} cannot be opened (SQLITE_CANTOPEN: unable to open database file); it was left as it is, and every file is imported`,
    ])
    expect(statSync(join(cacheDir, CACHE_FILE)).isDirectory()).toBe(true)
    expect(existsSync(join(cacheDir, `${CACHE_FILE}-wal`))).toBe(false)
  })
})
