// The baseline of bench/server.ts's throughput figure: the Create that nexflow serves through
// Nexus (POST /workflows/create-item/execute running one ItemCreateNode), written by hand with
// hono on @hono/node-server and better-sqlite3. Same table (migrated by DataFlow before this
// starts), same fields, the same zod validation of the body, one INSERT ... RETURNING per
// request, the same SQLite settings as DataFlow (WAL, synchronous = NORMAL).
// Run by the bench as a child process: node --import tsx bench/server-baseline.ts <db file>; it
// prints `listening on <url>` once it listens and stops on SIGTERM.
import { serve } from '@hono/node-server'
import Database from 'better-sqlite3'
import { Hono } from 'hono'
import { z } from 'zod'

const path = process.argv[2]
if (path === undefined) throw new Error('usage: server-baseline.ts <sqlite file>')

const db = new Database(path)
db.pragma('journal_mode = WAL')
db.pragma('synchronous = NORMAL')
// Read with all(), not get(): get() resets the statement after its first row, before the step that
// ends it, and SQLite runs its WAL checkpoint only there. With get() the WAL grows without bound
// (260 MB after 30,000 inserts, measured) and this handler would skip work DataFlow does.
const insert = db.prepare('INSERT INTO "items" ("id", "name", "qty", "created_at", "updated_at") VALUES (?, ?, ?, ?, ?) RETURNING *')

// The model's shape, as bench/server.ts declares it for DataFlow.
const body = z.object({ inputs: z.object({ id: z.string(), name: z.string(), qty: z.number().int() }) })

const app = new Hono()
app.post('/items', async (c) => {
  const parsed = body.safeParse(await c.req.json().catch(() => undefined))
  if (!parsed.success) return c.json({ error: { code: 'VALIDATION_FAILED', issues: parsed.error.issues } }, 400)
  const { id, name, qty } = parsed.data.inputs
  const now = new Date().toISOString()
  try {
    return c.json({ outputs: { create: insert.all(id, name, qty, now, now)[0] } })
  } catch (error) {
    if ((error as { code?: string }).code === 'SQLITE_CONSTRAINT_PRIMARYKEY') return c.json({ error: { code: 'DUPLICATE_KEY', message: `item ${id} exists` } }, 409)
    throw error
  }
})

const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, (info) => process.stdout.write(`listening on http://127.0.0.1:${info.port}\n`))
process.on('SIGTERM', () => {
  server.close(() => {
    db.close()
    process.exit(0)
  })
})
