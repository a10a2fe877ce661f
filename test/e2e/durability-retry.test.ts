// Retries of async runs through pg-boss (`durability.retryLimit` > 0), with `nexflow start` child
// processes sharing PostgreSQL: a run whose instance is SIGKILLed mid-run keeps its job active
// until the job expires (runTimeoutMs + queueTimeoutMs + 5 s); pg-boss then hands it again to a
// surviving instance, which takes the run back (`running` again, a new started_at) and completes
// it; once its retries are spent too, the job is dead-lettered and the run is `interrupted`.
// The `holds` fixture holds its first `hold` attempts until their process dies and records which
// process runs each attempt, so the test kills exactly the instance that holds a run, whichever
// instance pg-boss gave it to. Both runs share one set of instances and overlap their waits for
// expiry: the process startups and those waits are the whole of this test's time.
import { randomUUID } from 'node:crypto'
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import pg from 'pg'
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import { pollStatus, post, type Json } from '../server/durability-helpers.js'
import { COMMON_FLAGS, dropDurabilitySchemas, getJson, killAll, REPO, SERVER_FIXTURES, SLOW_MS, startNexflow, tempDir, WAIT_MS, waitForReady, waitUntil, type NexflowProcess } from './server-helpers.js'

const POSTGRES_URL = process.env.NEXFLOW_TEST_POSTGRES_URL
if (POSTGRES_URL === undefined) console.warn('durability-retry.test.ts: skipped: set NEXFLOW_TEST_POSTGRES_URL to run the pg-boss retry cases')

/**
 * A run's deadline: a held attempt must be killed within it (else the run ends `timeout`), and it
 * sets each job's expiry, ceil((5000 + 1000) / 1000) + 5 = 11 s, which each kill waits for.
 */
const LIMITS = { runTimeoutMs: 5000, queueTimeoutMs: 1000 }

const running: NexflowProcess[] = []
const roots: { remove(): void }[] = []
const schemas: string[] = []

afterEach(async () => {
  await Promise.all(running.splice(0).map((server) => server.stop()))
}, SLOW_MS)
afterAll(async () => {
  await killAll()
  for (const root of roots) root.remove()
  await dropDurabilitySchemas(POSTGRES_URL, schemas)
}, SLOW_MS)

interface Instance {
  server: NexflowProcess
  url: string
  killed: boolean
}

/** A root serving `holds` in its own schema, pg-boss retrying a job `retryLimit` times. */
function makeRoot(retryLimit: number): { path: string; folder(name: string): string } {
  const root = tempDir('nexflow-durability-retry-')
  roots.push(root)
  const schema = `nx_retry_${randomUUID().slice(0, 8)}`
  schemas.push(schema)
  mkdirSync(join(root.path, 'workflows'))
  const target = pathToFileURL(join(SERVER_FIXTURES, 'durability', 'workflows', 'holds.js')).href
  writeFileSync(join(root.path, 'workflows', 'holds.ts'), `export { workflow } from ${JSON.stringify(target)}\n`)
  // Four instances importing at once on a busy machine: discovery's per-file deadline (10 s by
  // default) is raised to the bound of every other wait, so `holds` is always served.
  const config = { ...LIMITS, autoDiscovery: { timeoutMs: WAIT_MS }, durability: { databaseUrl: POSTGRES_URL, schema, retryLimit, maintenanceIntervalSeconds: 1 } }
  writeFileSync(join(root.path, 'nexflow.config.json'), JSON.stringify(config))
  return {
    path: root.path,
    folder: (name) => {
      const path = join(root.path, name)
      mkdirSync(path)
      return path
    },
  }
}

/** `count` instances of the root, started together. */
function startInstances(root: string, count: number): Promise<Instance[]> {
  return Promise.all(
    Array.from({ length: count }, async () => {
      const server = startNexflow([root, ...COMMON_FLAGS, '--workers', '2'], { cwd: REPO, env: { NEXFLOW_DURABILITY_URL: undefined } })
      running.push(server)
      const url = await server.listening()
      const [, served] = await server.waitFor('stdout', /^nexflow: discovered .*; serving (\d+) workflows?; ready$/m)
      expect(served, server.output).toBe('1')
      await waitForReady(url)
      return { server, url, killed: false }
    }),
  )
}

/** An async run of `holds` whose first `hold` attempts are held, recording its attempts in `attempts`. */
async function accept(instance: Instance, attempts: string, hold: number): Promise<string> {
  const accepted = await post(instance.url, 'holds', { inputs: { dir: attempts, hold }, mode: 'async' })
  expect(accepted.status, `${JSON.stringify(accepted.json)}\n${instance.server.output}`).toBe(202)
  return accepted.json.execution_id as string
}

/** The instance running attempt `n` of a run, once that attempt has started. */
async function holderOf(instances: Instance[], attempts: string, n: number): Promise<Instance> {
  const file = join(attempts, `attempt-${n}`)
  const pid = await waitUntil(`attempt ${n} in ${attempts} to start`, () => Promise.resolve(existsSync(file) ? Number(readFileSync(file, 'utf8')) : undefined))
  const holder = instances.find((instance) => instance.server.pid === pid)
  if (holder === undefined) throw new Error(`attempt ${n} in ${attempts} runs in process ${pid}, none of the instances (${instances.map((i) => i.server.pid).join(', ')})`)
  return holder
}

/** SIGKILLs `victim` (its whole process group) and waits until it is gone. */
async function kill(victim: Instance): Promise<void> {
  victim.killed = true
  victim.server.kill()
  await victim.server.exited
}

function status(instance: Instance, id: string): Promise<Json> {
  return getJson(`${instance.url}/workflows/holds/status/${id}`).then((answer) => answer.json)
}

const ended = (value: string) => value !== 'pending' && value !== 'running'

describe.skipIf(POSTGRES_URL === undefined)('durability: pg-boss retries a run whose instance was SIGKILLed', { timeout: SLOW_MS * 2 }, () => {
  it('retryLimit 1: the expired job is retried on a survivor, which completes the run (every survivor reports it); a run killed again on its retry is interrupted', async () => {
    const root = makeRoot(1)
    // Up to three instances die (each run's first holder, then the second run's retry holder): one is left.
    const instances = await startInstances(root.path, 4)
    const live = () => instances.filter((instance) => !instance.killed)

    // `once` holds its first attempt only; `twice` holds its retry too. Each holder is killed as
    // soon as its attempt has started, well within the run deadline; `twice` is sent after that,
    // so `once`'s job expires first.
    const onceAttempts = root.folder('once')
    const once = await accept(instances[0]!, onceAttempts, 1)
    const onceHolder = await holderOf(instances, onceAttempts, 1)
    const onceFirst = await status(onceHolder, once)
    expect(onceFirst.status).toBe('running')
    await kill(onceHolder)
    const twiceAttempts = root.folder('twice')
    const twice = await accept(live()[0]!, twiceAttempts, 2)
    const twiceHolder = await holderOf(live(), twiceAttempts, 1)
    const twiceFirst = await status(twiceHolder, twice)
    expect(twiceFirst.status).toBe('running')
    await kill(twiceHolder)

    // Until its job expires the run stays running; then a survivor takes it back and completes it.
    const done = await pollStatus(live()[0]!.url, 'holds', once, ended, WAIT_MS)
    expect(done, JSON.stringify(done)).toMatchObject({ execution_id: once, status: 'completed', outputs: { holds: { attempt: 2 } } })
    expect(done).not.toHaveProperty('error')
    const retriedBy = live().find((instance) => instance.server.pid === done.outputs.holds.pid)
    expect(retriedBy, `completed by process ${done.outputs.holds.pid as number}, not a survivor`).toBeDefined()
    expect(Date.parse(done.started_at as string)).toBeGreaterThan(Date.parse(onceFirst.started_at as string))
    expect(Date.parse(done.finished_at as string)).toBeGreaterThanOrEqual(Date.parse(done.started_at as string))
    // Every survivor (at least two are left here) reports the same run.
    expect(live().length).toBeGreaterThanOrEqual(2)
    for (const survivor of live()) expect(await status(survivor, once)).toEqual(done)

    // `twice`'s job expired too: its retry took the run back (a new started_at) and holds it.
    // `once` has completed, so killing its retry's instance cannot touch it.
    const retryHolder = await holderOf(live(), twiceAttempts, 2)
    const retried = await status(retryHolder, twice)
    expect(retried.status).toBe('running')
    expect(Date.parse(retried.started_at as string)).toBeGreaterThan(Date.parse(twiceFirst.started_at as string))
    await kill(retryHolder)

    // Its retries spent, the expired job is dead-lettered: the run is interrupted, never run again.
    const last = live()[0]!
    const interrupted = await pollStatus(last.url, 'holds', twice, ended, WAIT_MS)
    expect(interrupted, JSON.stringify(interrupted)).toMatchObject({ execution_id: twice, status: 'interrupted', error: { code: 'RUN_INTERRUPTED' }, finished_at: expect.any(String) })
    expect(interrupted).not.toHaveProperty('outputs')
    expect(existsSync(join(twiceAttempts, 'attempt-3'))).toBe(false)
    expect(existsSync(join(onceAttempts, 'attempt-3'))).toBe(false)
    expect(await status(last, once)).toEqual(done)
  })
})

describe.skipIf(POSTGRES_URL === undefined)('durability: an instance takes queued runs only once it serves its workflows', { timeout: SLOW_MS * 2 }, () => {
  it('a run queued while no instance ran, taken by one whose discovery outlasts the job expiry, runs once and completes', async () => {
    const root = makeRoot(1)
    const schema = schemas.at(-1) as string
    // One instance creates the tables and queues, then stops: nothing is left to take jobs.
    const [first] = await startInstances(root.path, 1)
    expect((await first!.server.stop()).code).toBe(0)

    const id = randomUUID()
    const attempts = root.folder('queued')
    const client = new pg.Client({ connectionString: POSTGRES_URL })
    await client.connect()
    try {
      await client.query(`INSERT INTO ${schema}.runs (id, workflow, status, inputs, created_at) VALUES ($1, 'holds', 'pending', $2, $3)`, [id, JSON.stringify({ dir: attempts, hold: 0 }), Date.now()])
    } finally {
      await client.end()
    }
    const { default: PgBoss } = await import('pg-boss')
    const boss = new PgBoss({ connectionString: POSTGRES_URL, schema: `${schema}_boss`, supervise: false, schedule: false, migrate: false })
    await boss.start()
    await boss.send('nexflow-runs', { runId: id, workflow: 'holds' }, { deadLetter: 'nexflow-runs-interrupted', retryLimit: 1, expireInSeconds: 11 })
    await boss.stop({ graceful: false, wait: true })

    // The next instance's discovery takes longer than a job's expiry (11 s): a job it took at
    // listen would expire while it waited, and be handed out again or given up on.
    writeFileSync(join(root.path, 'workflows', 'slow.mts'), 'await new Promise((resolve) => setTimeout(resolve, 14_000))\nexport const slow = true\n')
    const [next] = await startInstances(root.path, 1)
    const done = await pollStatus(next!.url, 'holds', id, ended, WAIT_MS)
    expect(done, JSON.stringify(done)).toMatchObject({ execution_id: id, status: 'completed', outputs: { holds: { attempt: 1, pid: next!.server.pid } } })
    // Ran once: one run log line for it once the instance has stopped (a stop lets runs finish).
    // Two attempts started together could both record themselves as attempt 1: the log counts.
    expect((await next!.server.stop()).code).toBe(0)
    const runLines = next!.server.stdout.split('\n').filter((line) => line.includes(`"msg":"run"`) && line.includes(`"run_id":"${id}"`))
    expect(runLines, next!.server.output).toHaveLength(1)
    expect(runLines[0]).toContain('"outcome":"completed"')
  })
})
