// The pool thread of bench/server-pool-baseline.ts: the validation and the INSERT of
// bench/server-baseline.ts, moved off the main thread. Plain JavaScript so that the thread
// needs no loader.
import { setImmediate as yieldTurn } from 'node:timers/promises'
import { workerData } from 'node:worker_threads'
import Database from 'better-sqlite3'
import { z } from 'zod'

const db = new Database(workerData.path, { timeout: 0 })
db.pragma('journal_mode = WAL')
db.pragma('synchronous = NORMAL')
// all(), not get(): see bench/server-baseline.ts (get() would leave the WAL unchecked).
const insert = db.prepare('INSERT INTO "items" ("id", "name", "qty", "created_at", "updated_at") VALUES (?, ?, ?, ?, ?) RETURNING *')
const body = z.object({ inputs: z.object({ id: z.string(), name: z.string(), qty: z.number().int() }) })

export default async function create(raw) {
  const parsed = body.safeParse(raw)
  if (!parsed.success) return { status: 400, body: { error: { code: 'VALIDATION_FAILED', issues: parsed.error.issues } } }
  const { id, name, qty } = parsed.data.inputs
  const now = new Date().toISOString()
  for (;;) {
    try {
      return { status: 200, body: { outputs: { create: insert.all(id, name, qty, now, now)[0] } } }
    } catch (error) {
      if (error.code === 'SQLITE_CONSTRAINT_PRIMARYKEY') return { status: 409, body: { error: { code: 'DUPLICATE_KEY', message: `item ${id} exists` } } }
      if (error.code !== 'SQLITE_BUSY') throw error
      await yieldTurn()
    }
  }
}
