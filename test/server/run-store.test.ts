// The run store's contract, run against the embedded SQLite store and (with
// NEXFLOW_TEST_POSTGRES_URL) PostgreSQL: the same cases, the same answers.
import { spawn } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { once } from 'node:events'
import { mkdirSync } from 'node:fs'
import { hostname } from 'node:os'
import Database from 'better-sqlite3'
import { join } from 'node:path'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { PostgresRunStore } from '../../src/server/durability/postgres-store.js'
import type { IdempotencyBegin, IdempotencyTimes, RunStore } from '../../src/server/durability/run-store.js'
import { SqliteRunStore } from '../../src/server/durability/sqlite-store.js'
import { StoreWriterThread } from '../../src/server/durability/store-writer-thread.js'
import { tempRoot } from './durability-helpers.js'

const POSTGRES_URL = process.env.NEXFLOW_TEST_POSTGRES_URL
if (POSTGRES_URL === undefined) console.warn('run-store.test.ts: PostgreSQL cases skipped: set NEXFLOW_TEST_POSTGRES_URL to run them')
const SCHEMA = `nx_store_${randomUUID().slice(0, 8)}`
const root = tempRoot()

const targets: { name: string; make: () => RunStore; skip: boolean }[] = [
  { name: 'SQLite', make: () => new SqliteRunStore(join(root.path, '.nexflow', 'nexflow.db')), skip: false },
  { name: 'PostgreSQL', make: () => new PostgresRunStore(POSTGRES_URL ?? '', SCHEMA), skip: POSTGRES_URL === undefined },
]

afterAll(async () => {
  root.remove()
  if (POSTGRES_URL === undefined) return
  const client = new pg.Client({ connectionString: POSTGRES_URL })
  await client.connect()
  await client.query(`DROP SCHEMA IF EXISTS ${SCHEMA} CASCADE`)
  await client.end()
})

const T0 = 1_800_000_000_000
const times = (now: number) => ({ now, ttlMs: 10_000, lockMs: 1000 })
/** One claim, as a batch of one. */
async function begin(store: RunStore, key: string, bodyHash: string, at: IdempotencyTimes): Promise<IdempotencyBegin | undefined> {
  return (await store.beginIdempotent([{ key, bodyHash }], at))[0]
}

describe.each(targets)('RunStore contract ($name)', ({ make, skip, name }) => {
  let store: RunStore
  beforeAll(async () => {
    if (skip) return
    store = make()
    await store.open()
    // Opening twice (a second instance, a restart) finds the tables there.
    const again = make()
    await again.open()
    await again.close()
  })
  afterAll(async () => {
    await store?.close()
  })

  it.skipIf(skip)('lists the most recently created runs, newest first, at most the limit', async () => {
    const ids = [randomUUID(), randomUUID(), randomUUID()]
    // Later than any other test's runs, so they are the newest.
    for (const [i, id] of ids.entries()) await store.createRuns([{ id, workflow: 'listed', inputs: '{}', now: T0 + 1_000_000 + i }])
    expect((await store.listRuns(2)).map((run) => run.id)).toEqual([ids[2], ids[1]])
  })

  it.skipIf(skip)('a run goes pending, running, completed; it ends once', async () => {
    const id = randomUUID()
    await store.createRuns([{ id, workflow: 'w', inputs: '{"a":1}', now: T0 }])
    expect(await store.getRun(id)).toEqual({ id, workflow: 'w', status: 'pending', inputs: '{"a":1}', createdAt: T0 })
    expect(await store.markRunning(id, T0 + 1)).toBe(true)
    expect(await store.markRunning(id, T0 + 2)).toBe(false)
    expect((await store.finishRuns([{ id, end: { status: 'completed', outputs: '{"n":{"x":1}}' }, now: T0 + 3 }]))[0]).toBe(true)
    expect((await store.finishRuns([{ id, end: { status: 'failed' }, now: T0 + 4 }]))[0]).toBe(false)
    expect(await store.getRun(id)).toMatchObject({ status: 'completed', outputs: '{"n":{"x":1}}', startedAt: T0 + 1, finishedAt: T0 + 3 })
  })

  it.skipIf(skip)('a run claimed by an instance that then closes goes back to pending, to be taken again; a cancelled one stays cancelled', async () => {
    const [handed, cancelled] = [randomUUID(), randomUUID()]
    await store.createRuns([
      { id: handed, workflow: 'w', inputs: '{}', now: T0 },
      { id: cancelled, workflow: 'w', inputs: '{}', now: T0 },
    ])
    await store.markRunning(handed, T0 + 1)
    expect(await store.returnToPending(handed)).toBe(true)
    expect(await store.getRun(handed)).toEqual({ id: handed, workflow: 'w', status: 'pending', inputs: '{}', createdAt: T0 })
    expect(await store.returnToPending(handed)).toBe(false)
    expect(await store.markRunning(handed, T0 + 2)).toBe(true)
    await store.markRunning(cancelled, T0 + 1)
    await store.cancelRun(cancelled, T0 + 2)
    expect(await store.returnToPending(cancelled)).toBe(false)
    expect((await store.getRun(cancelled))?.status).toBe('cancelled')
  })

  it.skipIf(skip)('a cancelled run stays cancelled: a later finish does not overwrite it', async () => {
    const id = randomUUID()
    await store.createRuns([{ id, workflow: 'w', inputs: '{}', now: T0 }])
    await store.markRunning(id, T0)
    expect((await store.cancelRun(id, T0 + 5))?.status).toBe('cancelled')
    expect((await store.finishRuns([{ id, end: { status: 'completed', outputs: '{}' }, now: T0 + 6 }]))[0]).toBe(false)
    expect((await store.getRun(id))?.status).toBe('cancelled')
    expect(await store.cancelRun(randomUUID(), T0)).toBeUndefined()
  })

  it.skipIf(skip)('errors round-trip as data', async () => {
    const id = randomUUID()
    await store.createRuns([{ id, workflow: 'w', inputs: '{}', now: T0 }])
    await store.finishRuns([{ id, end: { status: 'failed', error: { name: 'Error', message: 'boom', code: 'WORKFLOW_EXECUTION_FAILED' } }, now: T0 }])
    expect((await store.getRun(id))?.error).toEqual({ name: 'Error', message: 'boom', code: 'WORKFLOW_EXECUTION_FAILED' })
  })

  it.skipIf(skip || name === 'PostgreSQL')('recover: running runs become interrupted, pending ones come back to dispatch (embedded)', async () => {
    const running = randomUUID()
    const pending = randomUUID()
    await store.createRuns([{ id: running, workflow: 'w', inputs: '{}', now: T0 }])
    await store.markRunning(running, T0)
    await store.createRuns([{ id: pending, workflow: 'w', inputs: '{"p":1}', now: T0 }])
    const recovered = await store.recover(T0 + 10)
    expect(recovered.interrupted).toContain(running)
    expect(recovered.pending.map((run) => run.id)).toContain(pending)
    expect((await store.getRun(running))?.status).toBe('interrupted')
    expect((await store.getRun(pending))?.status).toBe('pending')
    // A job retried after its instance died takes a running run again.
    const retried = randomUUID()
    await store.createRuns([{ id: retried, workflow: 'w', inputs: '{}', now: T0 }])
    await store.markRunning(retried, T0)
    expect(await store.markRunning(retried, T0 + 1, true)).toBe(true)
  })

  it.skipIf(skip)('idempotency: new, conflict while running, replay once done, mismatch for another body', async () => {
    const key = `k-${randomUUID()}`
    expect(await begin(store, key, 'h1', times(T0))).toEqual({ kind: 'new' })
    expect(await begin(store, key, 'h1', times(T0 + 1))).toEqual({ kind: 'conflict' })
    expect(await begin(store, key, 'h2', times(T0 + 1))).toEqual({ kind: 'mismatch' })
    await store.completeIdempotent([{ key: key, status: 201, body: '{"ok":true}' }])
    expect(await begin(store, key, 'h1', times(T0 + 2))).toEqual({ kind: 'replay', status: 201, body: '{"ok":true}' })
  })

  it.skipIf(skip)('idempotency: a released key runs again; an expired one is new; one whose holder died is taken over', async () => {
    const released = `k-${randomUUID()}`
    await begin(store, released, 'h', times(T0))
    await store.releaseIdempotent(released)
    expect(await begin(store, released, 'h', times(T0 + 1))).toEqual({ kind: 'new' })

    const expired = `k-${randomUUID()}`
    await begin(store, expired, 'h', times(T0))
    await store.completeIdempotent([{ key: expired, status: 200, body: '{}' }])
    expect(await begin(store, expired, 'other', times(T0 + 10_000))).toEqual({ kind: 'new' })

    const orphan = `k-${randomUUID()}`
    await begin(store, orphan, 'h', times(T0))
    expect(await begin(store, orphan, 'h', times(T0 + 999))).toEqual({ kind: 'conflict' })
    expect(await begin(store, orphan, 'h', times(T0 + 1000))).toEqual({ kind: 'new' })
  })

  it.skipIf(skip)('prune forgets finished runs past keepRunsMs and expired keys, never unfinished runs', async () => {
    const old = randomUUID()
    const live = randomUUID()
    await store.createRuns([{ id: old, workflow: 'w', inputs: '{}', now: T0 }])
    await store.finishRuns([{ id: old, end: { status: 'completed', outputs: '{}' }, now: T0 }])
    await store.createRuns([{ id: live, workflow: 'w', inputs: '{}', now: T0 }])
    const key = `k-${randomUUID()}`
    await begin(store, key, 'h', times(T0))
    await store.prune(T0 + 20_000, 5000)
    expect(await store.getRun(old)).toBeUndefined()
    expect((await store.getRun(live))?.status).toBe('pending')
    expect(await begin(store, key, 'x', times(T0 + 20_000))).toEqual({ kind: 'new' })
  })

  it.skipIf(skip)('two racing begins on one key: exactly one is new', async () => {
    const key = `k-${randomUUID()}`
    const answers = await Promise.all(Array.from({ length: 8 }, () => begin(store, key, 'h', times(T0))))
    expect(answers.filter((answer) => answer?.kind === 'new')).toHaveLength(1)
  })

  it.skipIf(skip)('a batch of claims is answered as if they came one after another', async () => {
    const [fresh, done, other] = [`k-${randomUUID()}`, `k-${randomUUID()}`, `k-${randomUUID()}`]
    await begin(store, done, 'h', times(T0))
    await store.completeIdempotent([{ key: done, status: 200, body: '{"n":1}' }])
    const answers = await store.beginIdempotent(
      [
        { key: fresh, bodyHash: 'h' },
        { key: fresh, bodyHash: 'h' },
        { key: fresh, bodyHash: 'other' },
        { key: done, bodyHash: 'h' },
        { key: done, bodyHash: 'other' },
        { key: other, bodyHash: 'h' },
        { key: fresh, bodyHash: 'h' },
      ],
      times(T0 + 1),
    )
    expect(answers).toEqual([
      { kind: 'new' },
      { kind: 'conflict' },
      { kind: 'mismatch' },
      { kind: 'replay', status: 200, body: '{"n":1}' },
      { kind: 'mismatch' },
      { kind: 'new' },
      { kind: 'conflict' },
    ])
    // Answers stored together, each under its own key.
    await store.completeIdempotent([
      { key: fresh, status: 201, body: '"a"' },
      { key: other, status: 202, body: '"b"' },
    ])
    expect(await begin(store, fresh, 'h', times(T0 + 2))).toEqual({ kind: 'replay', status: 201, body: '"a"' })
    expect(await begin(store, other, 'h', times(T0 + 2))).toEqual({ kind: 'replay', status: 202, body: '"b"' })
  })

  it.skipIf(skip)('runs are created and ended in batches; a run ended twice in one batch ends once', async () => {
    const [a, b, c] = [randomUUID(), randomUUID(), randomUUID()]
    await store.createRuns([
      { id: a, workflow: 'w', inputs: '{"a":1}', now: T0 },
      { id: b, workflow: 'w', inputs: '{"b":1}', now: T0 },
      { id: c, workflow: 'w', inputs: '{}', now: T0 },
    ])
    expect((await store.getRun(b))?.inputs).toBe('{"b":1}')
    await store.cancelRun(c, T0 + 1)
    const ended = await store.finishRuns([
      { id: a, end: { status: 'completed', outputs: '{"x":1}' }, now: T0 + 2 },
      { id: b, end: { status: 'failed', error: { name: 'Error', message: 'no' } }, now: T0 + 2 },
      { id: a, end: { status: 'failed' }, now: T0 + 3 },
      { id: c, end: { status: 'completed' }, now: T0 + 2 },
    ])
    expect(ended).toEqual([true, true, false, false])
    expect(await store.getRun(a)).toMatchObject({ status: 'completed', outputs: '{"x":1}', finishedAt: T0 + 2 })
    expect(await store.getRun(b)).toMatchObject({ status: 'failed', error: { message: 'no' } })
    expect((await store.getRun(c))?.status).toBe('cancelled')
  })

  it.skipIf(skip)("a run keeps the submitting request's id", async () => {
    const [traced, untraced] = [randomUUID(), randomUUID()]
    await store.createRuns([{ id: traced, workflow: 'w', inputs: '{}', requestId: 'req-1', now: T0 }])
    await store.createRuns([{ id: untraced, workflow: 'w', inputs: '{}', now: T0 }])
    expect((await store.getRun(traced))?.requestId).toBe('req-1')
    expect(await store.getRun(untraced)).not.toHaveProperty('requestId')
  })
})

describe('the embedded store holds running keys in memory', () => {
  it('a key held by a process that stopped is free at the next start; a stored answer still replays', async () => {
    const path = join(root.path, 'held', 'nexflow.db')
    const first = new SqliteRunStore(path)
    await first.open()
    await begin(first, 'held', 'h', times(T0))
    await begin(first, 'answered', 'h', times(T0))
    await first.completeIdempotent([{ key: 'answered', status: 200, body: '"kept"' }])
    await first.close()
    const next = new SqliteRunStore(path)
    await next.open()
    try {
      await next.recover(T0 + 1)
      expect(await begin(next, 'held', 'h', times(T0 + 1))).toEqual({ kind: 'new' })
      expect(await begin(next, 'answered', 'h', times(T0 + 1))).toEqual({ kind: 'replay', status: 200, body: '"kept"' })
    } finally {
      await next.close()
    }
  })

  it("a store written when running keys were rows: the dead process's running rows are dropped at recovery", async () => {
    const path = join(root.path, 'rows', 'nexflow.db')
    const store = new SqliteRunStore(path)
    await store.open()
    await store.close()
    const db = new Database(path)
    db.prepare("INSERT INTO nexflow_idempotency (key, body_hash, state, expires_at, locked_until) VALUES ('stale', 'h', 'running', ?, ?)").run(T0 + 10_000, T0 + 5000)
    db.close()
    const reopened = new SqliteRunStore(path)
    await reopened.open()
    try {
      await reopened.recover(T0 + 1)
      expect(await begin(reopened, 'stale', 'h', times(T0 + 1))).toEqual({ kind: 'new' })
    } finally {
      await reopened.close()
    }
  })
})

describe('an embedded store written by an earlier version', () => {
  it('gains the request_id column; its runs are kept', async () => {
    const path = join(root.path, 'old', 'nexflow.db')
    mkdirSync(join(root.path, 'old'))
    const old = new Database(path)
    old.exec(`CREATE TABLE nexflow_runs (id TEXT PRIMARY KEY, workflow TEXT NOT NULL, status TEXT NOT NULL, inputs TEXT NOT NULL, outputs TEXT, error TEXT,
      created_at INTEGER NOT NULL, started_at INTEGER, finished_at INTEGER)`)
    old.prepare("INSERT INTO nexflow_runs (id, workflow, status, inputs, created_at) VALUES ('old-run', 'w', 'pending', '{}', 1)").run()
    old.close()
    const store = new SqliteRunStore(path)
    await store.open()
    try {
      expect((await store.getRun('old-run'))?.status).toBe('pending')
      await store.createRuns([{ id: 'new-run', workflow: 'w', inputs: '{}', requestId: 'req-2', now: 2 }])
      expect((await store.getRun('new-run'))?.requestId).toBe('req-2')
    } finally {
      await store.close()
    }
  })
})

describe('the embedded store has one live process', () => {
  it('a store another live process holds is refused, naming the pid and PostgreSQL; once that process is gone it opens', async () => {
    const path = join(root.path, 'owned', 'nexflow.db')
    const first = new SqliteRunStore(path)
    await first.open()
    await first.close()
    const other = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' })
    try {
      const db = new Database(path)
      db.prepare('INSERT OR REPLACE INTO nexflow_owner (id, pid, host) VALUES (1, ?, ?)').run(other.pid, hostname())
      db.close()
      await expect(new SqliteRunStore(path).open()).rejects.toMatchObject({ code: 'DURABILITY_UNAVAILABLE', message: expect.stringMatching(new RegExp(`pid ${other.pid}.*databaseUrl`)) })
    } finally {
      other.kill('SIGKILL')
      await once(other, 'exit')
    }
    const reopened = new SqliteRunStore(path)
    await reopened.open()
    await reopened.close()
  })
})

describe("the embedded store's writer thread", () => {
  it("a write it cannot make rejects with the driver's error; the writes after it are made, in order", async () => {
    const path = join(root.path, 'writer', 'nexflow.db')
    const store = new SqliteRunStore(path)
    await store.open()
    try {
      const id = randomUUID()
      await store.createRuns([{ id, workflow: 'w', inputs: '{}', now: T0 }])
      // The same id again breaks the primary key: the batch is rolled back whole.
      const other = randomUUID()
      const failed = store.createRuns([
        { id: other, workflow: 'w', inputs: '{}', now: T0 },
        { id, workflow: 'w', inputs: '{}', now: T0 },
      ])
      const next = store.markRunning(id, T0 + 1)
      await expect(failed).rejects.toMatchObject({ code: 'SQLITE_CONSTRAINT_PRIMARYKEY', message: expect.stringMatching(/UNIQUE/) })
      expect(await next).toBe(true)
      expect(await store.getRun(other)).toBeUndefined()
      expect((await store.getRun(id))?.status).toBe('running')
    } finally {
      await store.close()
    }
  })

  it('a thread that dies is replaced by the next write; what it had committed is kept; a second death at once is not retried in a loop', async () => {
    const threads: StoreWriterThread[] = []
    const store = new SqliteRunStore(join(root.path, 'dies', 'nexflow.db'), () => {
      const thread = new StoreWriterThread()
      threads.push(thread)
      return thread
    })
    await store.open()
    try {
      const kept = randomUUID()
      await store.createRuns([{ id: kept, workflow: 'w', inputs: '{}', now: T0 }])
      await threads[0]?.terminate()
      expect(threads[0]?.died).toBe(true)
      const after = randomUUID()
      await store.createRuns([{ id: after, workflow: 'w', inputs: '{}', now: T0 }])
      expect(threads).toHaveLength(2)
      expect(await store.markRunning(kept, T0 + 1)).toBe(true)
      expect([(await store.getRun(kept))?.status, (await store.getRun(after))?.status]).toEqual(['running', 'pending'])
      // A keyed answer goes through the new thread too.
      await begin(store, 'after-restart', 'h', times(T0))
      await store.completeIdempotent([{ key: 'after-restart', status: 200, body: '"ok"' }])
      expect(await begin(store, 'after-restart', 'h', times(T0 + 1))).toEqual({ kind: 'replay', status: 200, body: '"ok"' })
      // Dead again within WRITER_RESTART_MS: the write fails as unavailable, and no third thread is started for it.
      await threads[1]?.terminate()
      await expect(store.createRuns([{ id: randomUUID(), workflow: 'w', inputs: '{}', now: T0 }])).rejects.toMatchObject({ code: 'DURABILITY_UNAVAILABLE', message: expect.stringMatching(/writer thread exited/) })
      expect(threads).toHaveLength(2)
    } finally {
      await store.close()
    }
  })

  it('once closed, a write is refused as unavailable rather than lost', async () => {
    const store = new SqliteRunStore(join(root.path, 'closed', 'nexflow.db'))
    await store.open()
    await store.close()
    await expect(store.createRuns([{ id: randomUUID(), workflow: 'w', inputs: '{}', now: T0 }])).rejects.toMatchObject({ code: 'DURABILITY_UNAVAILABLE' })
  })
})
