// Rate limits behind several instances: with PostgreSQL durability, the instances count a
// client's requests together (NEXFLOW_TEST_POSTGRES_URL); when the database cannot be reached,
// each instance counts its own rather than letting everything through or answering 5xx.
import { randomUUID } from 'node:crypto'
import { once } from 'node:events'
import { createServer, type Socket } from 'node:net'
import pg from 'pg'
import { afterAll, describe, expect, it } from 'vitest'
import { Nexus, type NexusLogger, type NexusOptions } from '../../src/index.js'
import { echo, tempRoot } from './durability-helpers.js'

const POSTGRES_URL = process.env.NEXFLOW_TEST_POSTGRES_URL
if (POSTGRES_URL === undefined) console.warn('rate-limit-shared.test.ts: PostgreSQL cases skipped: set NEXFLOW_TEST_POSTGRES_URL to run them')
const schemas: string[] = []
const root = tempRoot()
const warnings: string[] = []
const logger: NexusLogger = { info: () => {}, warn: (message) => void warnings.push(message) }

afterAll(async () => {
  root.remove()
  if (POSTGRES_URL === undefined) return
  const client = new pg.Client({ connectionString: POSTGRES_URL })
  await client.connect()
  for (const schema of schemas) {
    await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`)
    await client.query(`DROP SCHEMA IF EXISTS ${schema}_boss CASCADE`)
  }
  await client.end()
})

async function instance(options: NexusOptions): Promise<Nexus> {
  const app = new Nexus({ apiPort: 0, root: root.path, autoDiscovery: false, workers: 1, logger, log: { requests: false, runs: false }, ...options })
  app.register('echo', echo)
  await app.start()
  return app
}

const call = (app: Nexus) => fetch(`${app.url as string}/workflows/echo/execute`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ inputs: { value: 1 } }) })

describe('rate limits shared through PostgreSQL', () => {
  it.skipIf(POSTGRES_URL === undefined)("two instances count a client's requests together; the one over the limit is 429 on either", async () => {
    const schema = `nx_rl_${randomUUID().slice(0, 8)}`
    schemas.push(schema)
    const durability = { databaseUrl: POSTGRES_URL as string, schema }
    const [a, b] = [await instance({ durability, rateLimit: { windowMs: 60_000, max: 4 } }), await instance({ durability, rateLimit: { windowMs: 60_000, max: 4 } })]
    try {
      const answers = [await call(a), await call(b), await call(a), await call(b)]
      expect(answers.map((answer) => answer.status)).toEqual([200, 200, 200, 200])
      expect(answers.map((answer) => answer.headers.get('ratelimit-remaining'))).toEqual(['3', '2', '1', '0'])
      const over = [await call(a), await call(b)]
      expect(over.map((answer) => answer.status)).toEqual([429, 429])
      const retryAfter = Number(over[1]?.headers.get('retry-after'))
      expect(retryAfter).toBeGreaterThan(0)
      expect(retryAfter).toBeLessThanOrEqual(60)
      expect(((await over[0]?.json()) as { error: { code: string } }).error.code).toBe('RATE_LIMITED')
    } finally {
      await Promise.all([a.close(), b.close()])
    }
  })

  it.skipIf(POSTGRES_URL === undefined)('requests arriving together are counted one after another: exactly the limit get through', async () => {
    const schema = `nx_rl_${randomUUID().slice(0, 8)}`
    schemas.push(schema)
    const app = await instance({ durability: { databaseUrl: POSTGRES_URL as string, schema }, rateLimit: { windowMs: 60_000, max: 5 } })
    try {
      const statuses = (await Promise.all(Array.from({ length: 12 }, () => call(app)))).map((answer) => answer.status)
      expect(statuses.filter((status) => status === 200)).toHaveLength(5)
      expect(statuses.filter((status) => status === 429)).toHaveLength(7)
    } finally {
      await app.close()
    }
  })

  it.skipIf(POSTGRES_URL === undefined)('with shared: false, each instance counts its own', async () => {
    const schema = `nx_rl_${randomUUID().slice(0, 8)}`
    schemas.push(schema)
    const durability = { databaseUrl: POSTGRES_URL as string, schema }
    const limit = { windowMs: 60_000, max: 2, shared: false }
    const [a, b] = [await instance({ durability, rateLimit: limit }), await instance({ durability, rateLimit: limit })]
    try {
      const statuses = [await call(a), await call(a), await call(b), await call(b), await call(a)].map((answer) => answer.status)
      expect(statuses).toEqual([200, 200, 200, 200, 429])
    } finally {
      await Promise.all([a.close(), b.close()])
    }
  })
})

describe('shared rate limits without their database', () => {
  it('each instance counts its own meanwhile, and says so once: no 5xx, and the limit still holds', async () => {
    warnings.length = 0
    const app = await instance({ durability: { databaseUrl: 'postgres://postgres@127.0.0.1:1/none' }, rateLimit: { windowMs: 60_000, max: 2 } })
    try {
      const statuses = [await call(app), await call(app), await call(app)].map((answer) => answer.status)
      expect(statuses).toEqual([200, 200, 429])
      expect(warnings.filter((message) => message.includes('rate limit'))).toEqual([expect.stringMatching(/durability database cannot count requests .*this instance counts its own/)])
    } finally {
      await app.close()
    }
  })

  it('a database that accepts the connection and never answers holds the first requests until the connect timeout (5 s), not until TCP gives up', async () => {
    warnings.length = 0
    const sockets: Socket[] = []
    const silent = createServer((socket) => void sockets.push(socket))
    silent.listen(0, '127.0.0.1')
    await once(silent, 'listening')
    const { port } = silent.address() as { port: number }
    const app = await instance({ durability: { databaseUrl: `postgres://postgres@127.0.0.1:${port}/none` }, rateLimit: { windowMs: 60_000, max: 2 } })
    try {
      const statuses = [await call(app), await call(app), await call(app)].map((answer) => answer.status)
      expect(statuses).toEqual([200, 200, 429])
      expect(warnings.filter((message) => message.includes('rate limit'))).toEqual([expect.stringMatching(/durability database cannot count requests .*timeout/i)])
    } finally {
      await app.close()
      for (const socket of sockets) socket.destroy()
      silent.close()
    }
  })
})
