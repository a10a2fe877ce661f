// SQLite specifics: WAL, one connection per thread, a short native busy wait with retries in
// JavaScript, and DataFlow used from real worker threads.
import { existsSync, statSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Worker } from 'node:worker_threads'
import Database from 'better-sqlite3'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { z } from 'zod'
import { DataFlow, NodeRegistry } from '../../src/index.js'
import { SQLITE_NATIVE_BUSY_MS, SqliteDriver } from '../../src/dataflow/dialects/sqlite/sqlite-driver.js'
import { itemShape, type Task, type WriteResult } from './threads/task.js'

let dir: string
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'nexflow-sqlite-'))
})
afterEach(async () => {
  await rm(dir, { recursive: true, force: true })
})

type WorkerMessage = { type: 'done'; result: WriteResult } | { type: 'failed'; error: { message: string } } | { type: 'writing' }

function startWorker(task: Task): { worker: Worker; messages: AsyncIterator<WorkerMessage> } {
  const worker = new Worker(new URL('./threads/worker.mjs', import.meta.url), { workerData: task })
  const queue: WorkerMessage[] = []
  const waiting: ((m: IteratorResult<WorkerMessage>) => void)[] = []
  worker.on('message', (message: WorkerMessage) => {
    const next = waiting.shift()
    if (next) next({ value: message, done: false })
    else queue.push(message)
  })
  worker.on('error', (error) => {
    const next = waiting.shift()
    if (next) next({ value: { type: 'failed', error: { message: error.message } }, done: false })
  })
  const messages: AsyncIterator<WorkerMessage> = {
    next: () => {
      const queued = queue.shift()
      return queued ? Promise.resolve({ value: queued, done: false }) : new Promise((resolve) => waiting.push(resolve))
    },
  }
  return { worker, messages }
}

describe('SQLite driver', () => {
  it('opens lazily, creating the folder, in WAL mode with synchronous=NORMAL and no native busy wait', async () => {
    const path = join(dir, 'nested', 'deeper', 'app.db')
    const driver = new SqliteDriver(path)
    expect(existsSync(path)).toBe(false)
    await driver.open()
    expect(existsSync(path)).toBe(true)
    expect(await driver.all('PRAGMA journal_mode')).toEqual([{ journal_mode: 'wal' }])
    expect(await driver.all('PRAGMA synchronous')).toEqual([{ synchronous: 1n }]) // NORMAL
    const [{ timeout }] = (await driver.all('PRAGMA busy_timeout')) as [{ timeout: bigint }]
    expect(Number(timeout)).toBe(SQLITE_NATIVE_BUSY_MS)
    expect(SQLITE_NATIVE_BUSY_MS).toBe(0)
    await driver.close()
  })

  it('waits for another connection\'s write lock in JavaScript, then writes', async () => {
    const url = `sqlite:${join(dir, 'app.db')}`
    const db = new DataFlow({ databaseUrl: url, registry: new NodeRegistry() })
    const Item = db.model('Item', itemShape)
    await db.migrate()
    const other = new Database(join(dir, 'app.db'))
    other.exec('BEGIN IMMEDIATE')
    let ticks = 0
    const ticker = setInterval(() => ticks++, 5)
    let settled = false
    const write = Item.create({ tag: 'after-lock', n: 1 }).finally(() => (settled = true))
    // The write is retrying, and the event loop keeps running meanwhile (a native busy wait
    // would hold the thread: no timer could fire until it ended).
    await new Promise((resolve) => setTimeout(resolve, 200))
    expect(settled).toBe(false)
    expect(ticks).toBeGreaterThanOrEqual(2)
    other.exec('COMMIT')
    other.close()
    await expect(write).resolves.toMatchObject({ tag: 'after-lock' })
    clearInterval(ticker)
    await db.close()
  })

  it('keeps the write-ahead log bounded: each write runs to its end, where SQLite checkpoints', async () => {
    // SQLite checkpoints the WAL (every 1000 pages) only when a statement steps to its end. A
    // RETURNING statement read with better-sqlite3's get() is reset after its first row instead:
    // measured, 30,000 such inserts left a 260 MB WAL and an empty database file.
    const path = join(dir, 'wal.db')
    const db = new DataFlow({ databaseUrl: `sqlite:${path}`, registry: new NodeRegistry() })
    const Item = db.model('Item', itemShape)
    await db.migrate()
    for (let n = 0; n < 5000; n++) await Item.create({ tag: `item-${n}`, n })
    const walBytes = statSync(`${path}-wal`).size
    const dbBytes = statSync(path).size
    await db.close()
    // 5000 rows without a checkpoint: about 21 MB of WAL (measured). With them: about 1000 pages (4 MB).
    expect(walBytes).toBeLessThan(8 * 1024 * 1024)
    expect(dbBytes).toBeGreaterThan(64 * 1024)
  })

  it('reports statements slower than slowQueryMs to the logger and in metrics', async () => {
    const warnings: string[] = []
    const db = new DataFlow({ databaseUrl: `sqlite:${join(dir, 'slow.db')}`, registry: new NodeRegistry(), slowQueryMs: 0, logger: { warn: (m) => warnings.push(m) } })
    const Item = db.model('Item', itemShape)
    await Item.create({ tag: 'secret-value', n: 1 })
    expect(warnings.some((w) => w.includes('slow query') && w.includes('INSERT INTO "items"'))).toBe(true)
    expect(db.metrics().slowQueries.length).toBeGreaterThan(0)
    // Bound values are never logged.
    expect(warnings.join('\n')).not.toContain('secret-value')
    const quiet: string[] = []
    const off = new DataFlow({ databaseUrl: `sqlite:${join(dir, 'quiet.db')}`, registry: new NodeRegistry(), slowQueryMs: null, logger: { warn: (m) => quiet.push(m) } })
    await off.model('Item', itemShape).create({ tag: 'x', n: 1 })
    expect(quiet).toEqual([])
    await Promise.all([db.close(), off.close()])
  })
})

describe('DataFlow in worker threads', () => {
  it('works from several threads at once, each connecting on its own, and describes itself as plain data', async () => {
    const url = `sqlite:${join(dir, 'threads.db')}`
    const workers = ['a', 'b', 'c'].map((tag) => startWorker({ kind: 'write', url, rows: 500, tag }))
    const results: WriteResult[] = []
    for (const { worker, messages } of workers) {
      const { value } = await messages.next()
      expect(value).toMatchObject({ type: 'done' })
      results.push((value as { result: WriteResult }).result)
      await worker.terminate()
    }
    expect(new Set(results.map((r) => r.threadId)).size).toBe(3)
    for (const result of results) {
      expect(result.inserted).toBe(500)
      expect(result.manifest).toMatchObject({ dialect: 'sqlite', models: [{ name: 'Item', tableName: 'items', nodeTypes: expect.arrayContaining(['ItemCreateNode']) }] })
    }
    const db = new DataFlow({ databaseUrl: url, registry: new NodeRegistry(), applicationId: 'threads' })
    const Item = db.model('Item', itemShape)
    expect(await Item.count()).toEqual({ count: 1500 })
    expect(await Item.count({ filter: { tag: 'b' } })).toEqual({ count: 500 })
    await db.close()
  })

  it('workers waiting on a locked database can be terminated at once, without aborting the process', async () => {
    const path = join(dir, 'locked.db')
    const url = `sqlite:${path}`
    const setup = new DataFlow({ databaseUrl: url, registry: new NodeRegistry() })
    setup.model('Item', itemShape)
    await setup.migrate()
    await setup.close()
    const holder = new Database(path)
    holder.exec('BEGIN IMMEDIATE')
    try {
      // Several workers, terminated at staggered moments of their retry loops: with any native
      // busy wait, one of them is eventually terminated inside it and the process aborts.
      const blocked = Array.from({ length: 4 }, () => startWorker({ kind: 'blocked-write', url }))
      for (const { messages } of blocked) expect((await messages.next()).value).toEqual({ type: 'writing' })
      await Promise.all(
        blocked.map(async ({ worker }, i) => {
          await new Promise((resolve) => setTimeout(resolve, 100 + i * 37))
          const started = performance.now()
          await worker.terminate()
          expect(performance.now() - started).toBeLessThan(1000)
        }),
      )
    } finally {
      holder.exec('ROLLBACK')
      holder.close()
    }
    // The database is intact and the blocked row was never written.
    const check = new DataFlow({ databaseUrl: url, registry: new NodeRegistry() })
    expect(await check.model('Item', { tag: z.string(), n: z.number().int() }).count()).toEqual({ count: 0 })
    await check.close()
  })
})
