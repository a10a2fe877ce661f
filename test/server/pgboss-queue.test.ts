// The PostgreSQL run queue (pg-boss) on a real database: a job fetched by an instance that is
// closing is handed on, never failed. Needs NEXFLOW_TEST_POSTGRES_URL.
import { randomUUID } from 'node:crypto'
import pg from 'pg'
import { afterAll, describe, expect, it } from 'vitest'
import { Nexus } from '../../src/index.js'
import { PgBossQueue } from '../../src/server/durability/pgboss-queue.js'
import type { JobOutcome, RunJob } from '../../src/server/durability/run-queue.js'
import { echo, post, pollStatus, tempRoot } from './durability-helpers.js'

const POSTGRES_URL = process.env.NEXFLOW_TEST_POSTGRES_URL
if (POSTGRES_URL === undefined) console.warn('pgboss-queue.test.ts: skipped: set NEXFLOW_TEST_POSTGRES_URL to run it')
const SCHEMA = `nx_queue_${randomUUID().slice(0, 8)}_boss`
const warnings: string[] = []
const logger = { info: () => {}, warn: (message: string) => void warnings.push(message) }

const TOGETHER = `nx_together_${randomUUID().slice(0, 8)}`
const root = tempRoot()

afterAll(async () => {
  root.remove()
  if (POSTGRES_URL === undefined) return
  const client = new pg.Client({ connectionString: POSTGRES_URL })
  await client.connect()
  for (const schema of [SCHEMA, TOGETHER, `${TOGETHER}_boss`]) await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`)
  await client.end()
})

describe('PgBossQueue', () => {
  it.skipIf(POSTGRES_URL === undefined)('a job its handler declines (the instance is closing) is queued again and taken, not dead-lettered as interrupted; a retry stays a retry', { timeout: 60_000 }, async () => {
    const url = POSTGRES_URL as string
    const queue = new PgBossQueue({ url, schema: SCHEMA, concurrency: 1, retryLimit: 0, expireInSeconds: 60, logger, maintenanceIntervalSeconds: 1 })
    // `retried` stands for a run whose instance died: its job comes as a retry, and the run may still be `running`.
    const [fresh, retried] = [randomUUID(), randomUUID()]
    const deliveries = new Map<string, boolean[]>()
    const interrupted: RunJob[] = []
    let taken!: () => void
    const bothTakenAgain = new Promise<void>((resolve) => (taken = resolve))
    await queue.start(
      {
        run: (job, info): Promise<JobOutcome> => {
          const seen = deliveries.get(job.runId) ?? []
          seen.push(info.retry)
          deliveries.set(job.runId, seen)
          if (seen.length === 1) return Promise.resolve('declined')
          if ([...deliveries.values()].filter((retries) => retries.length === 2).length === 2) taken()
          return Promise.resolve('done')
        },
        interrupted: (job) => {
          interrupted.push(job)
          return Promise.resolve()
        },
      },
      Promise.resolve(),
    )
    const client = new pg.Client({ connectionString: url })
    await client.connect()
    try {
      await queue.send({ runId: fresh, workflow: 'w' })
      await queue.send({ runId: retried, workflow: 'w', retry: true })
      await bothTakenAgain
      // Handed on as a new job: a first delivery is not counted as a retry, and a retry still is.
      expect(Object.fromEntries(deliveries)).toEqual({ [fresh]: [false, false], [retried]: [true, true] })
      // Every job ends completed (pg-boss completes a job once its handler returns); none failed.
      const deadline = Date.now() + 20_000
      let states: { name: string; state: string }[] = []
      for (;;) {
        states = (await client.query<{ name: string; state: string }>(`SELECT name, state FROM ${SCHEMA}.job WHERE data->>'runId' = ANY($1) ORDER BY created_on`, [[fresh, retried]])).rows
        if (states.length === 4 && states.every((row) => row.state === 'completed')) break
        if (Date.now() > deadline) throw new Error(`the jobs did not complete: ${JSON.stringify(states)}`)
        await new Promise((resolve) => setTimeout(resolve, 50))
      }
      expect(states.map((row) => row.name)).toEqual(['nexflow-runs', 'nexflow-runs', 'nexflow-runs', 'nexflow-runs'])
      expect(interrupted).toEqual([])
    } finally {
      await client.end()
      await queue.close()
    }
    expect(warnings).toEqual([])
  })
})

describe('instances started together on a new database', () => {
  it.skipIf(POSTGRES_URL === undefined)('all start their queue (they take turns installing pg-boss) and each runs an async run', async () => {
    const messages: string[] = []
    const quiet = { info: () => {}, warn: (message: string) => void messages.push(message) }
    const make = async () => {
      const app = new Nexus({ apiPort: 0, root: root.path, autoDiscovery: false, workers: 1, logger: quiet, log: { requests: false, runs: false }, durability: { databaseUrl: POSTGRES_URL as string, schema: TOGETHER } })
      app.register('echo', echo)
      await app.start()
      return app
    }
    const apps = await Promise.all([make(), make(), make()])
    try {
      for (const [i, app] of apps.entries()) {
        const accepted = await post(app.url as string, 'echo', { inputs: { value: i }, mode: 'async' })
        expect(accepted.status).toBe(202)
        const done = await pollStatus(app.url as string, 'echo', accepted.json.execution_id as string, (status) => status !== 'pending' && status !== 'running')
        expect(done).toMatchObject({ status: 'completed', outputs: { echo: { value: i } } })
      }
      expect(messages).toEqual([])
    } finally {
      await Promise.all(apps.map((app) => app.close()))
    }
  })
})
