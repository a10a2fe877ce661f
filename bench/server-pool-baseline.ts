// A second reference for bench/server.ts's throughput figure: the architecture the server is
// built on, written by hand with nothing else. hono on @hono/node-server answers on the main
// thread and hands each request's parsed body to a piscina pool; a pool thread validates it with
// the same zod shape and runs the same INSERT ... RETURNING as bench/server-baseline.ts, on its
// own better-sqlite3 connection (WAL, synchronous = NORMAL, busy_timeout 0 with a retry in
// JavaScript, as DataFlow's driver does: a thread inside SQLite's busy wait cannot be terminated).
// It measures what the worker hop costs on this machine, apart from what nexflow adds to it.
// Run by the bench as a child process: node --import tsx bench/server-pool-baseline.ts <db file> <threads>.
import { serve } from '@hono/node-server'
import { Hono } from 'hono'
import { Piscina } from 'piscina'

const [path, threads = '2'] = process.argv.slice(2)
if (path === undefined) throw new Error('usage: server-pool-baseline.ts <sqlite file> [threads]')

const pool = new Piscina({
  filename: new URL('./server-pool-worker.mjs', import.meta.url).href,
  minThreads: Number(threads),
  maxThreads: Number(threads),
  workerData: { path },
})

const app = new Hono()
app.post('/items', async (c) => {
  const body: unknown = await c.req.json().catch(() => undefined)
  const answer = (await pool.run(body)) as { status: 200 | 400 | 409; body: unknown }
  return c.json(answer.body, answer.status)
})

const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, (info) => process.stdout.write(`listening on http://127.0.0.1:${info.port}\n`))
process.on('SIGTERM', () => {
  server.close(() => {
    void pool.destroy().then(() => process.exit(0))
  })
})
