// `nexflow start` over real HTTP, as a child process: the source system's seed app (DataFlow models
// doing I/O at import) beside files that hang, throw, crash and exit. The server must listen at
// once, serve the seed app's workflows, report every bad file, and turn ready when the hanging
// file's deadline has passed. Then the same create-user / create-session flow on PostgreSQL and
// MySQL when their URLs are set.
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { provision, rawQuery, suiteTitle, TARGETS, type Provisioned, type TargetKind } from '../dataflow/targets.js'
import { COMMON_FLAGS, execute, getJson, killAll, REPO, SERVER_FIXTURES, startNexflow, SLOW_MS, tempDir, waitForReady, WAIT_MS, type Answer, type NexflowProcess } from './server-helpers.js'

afterAll(killAll)

const SEED_WITH_HOSTILE = join(SERVER_FIXTURES, 'seed-with-hostile')
const SEED_APP = join(REPO, 'fixtures', 'apps', 'seed-scenario')
/** Per-file import deadline: the hanging file is killed after it. Generous for a loaded CI machine, short for the suite. */
const IMPORT_TIMEOUT_MS = 3000

const user = (id: string) => ({ id, email: `${id}@example.com`, fullName: `User ${id}` })
const session = (userId: string, sessionId: string) => ({ userId, sessionId, token: `token-${sessionId}`, expiresAt: '2031-01-01T00:00:00.000Z' })

describe('nexflow start: the seed app beside hostile files, on SQLite', { timeout: SLOW_MS }, () => {
  const dir = tempDir('nexflow-server-seed-')
  const dbFile = join(dir.path, 'seed.db')
  let server: NexflowProcess
  let url: string
  /** Asked right after the listening line, while the hanging file is still importing. */
  let early: { health: Answer; ready: Answer; discovery: Answer }

  beforeAll(async () => {
    server = startNexflow([SEED_WITH_HOSTILE, ...COMMON_FLAGS, '--timeout-ms', String(IMPORT_TIMEOUT_MS)], { env: { NEXFLOW_SEED_DB: `sqlite:${dbFile}` } })
    url = await server.listening()
    const [health, ready, discovery] = await Promise.all([getJson(`${url}/health`), getJson(`${url}/ready`), getJson(`${url}/discovery`)])
    early = { health, ready, discovery }
  }, SLOW_MS)

  afterAll(async () => {
    await server?.stop()
    dir.remove()
  }, SLOW_MS)

  it('answers /health 200 at once, while discovery is still running; /ready is 503 then', () => {
    expect(early.health.status).toBe(200)
    expect(early.health.json).toMatchObject({ status: 'ok', discovery: { state: 'running' } })
    expect(early.ready.status).toBe(503)
    expect(early.ready.json).toMatchObject({ ready: false, reason: expect.stringContaining('discovery is running') })
    // The hanging file cannot have been given up on yet: its deadline is seconds away.
    const files = early.discovery.json.files as { path: string; status: string }[]
    expect(files.find((file) => file.path === 'workflows/busy-hang.ts')).toBeUndefined()
  })

  it('turns /ready 200 once the hanging file has timed out, and says so on stdout', async () => {
    await expect.poll(async () => (await fetch(`${url}/ready`)).status, { timeout: WAIT_MS, interval: 100 }).toBe(200)
    expect((await getJson(`${url}/ready`)).json).toEqual({ ready: true })
    await server.waitFor('stdout', /^nexflow: discovered 6 files \(.*\) in \d+ ms; serving 2 workflows; ready$/m)
    expect(server.stdout).toMatch(/^ {2}workflows\/busy-hang\.ts {2}TIMEOUT {2}\d+ ms/m)
  })

  it('/discovery reports each bad file with its status, and the seed files as ok', async () => {
    await expect.poll(async () => (await fetch(`${url}/ready`)).status, { timeout: WAIT_MS, interval: 100 }).toBe(200)
    const { status, json } = await getJson(`${url}/discovery`)
    expect(status).toBe(200)
    expect(json.state).toBe('finished')
    const byPath = Object.fromEntries((json.files as { path: string; status: string }[]).map((file) => [file.path, file]))
    expect(Object.fromEntries(Object.entries(byPath).map(([path, file]) => [path, file.status]))).toEqual({
      'workflows/busy-hang.ts': 'timeout',
      'workflows/throws.ts': 'error',
      'workflows/timer-crash.ts': 'crashed',
      'workflows/exits.ts': 'exited',
      'workflows/create-user.ts': 'ok',
      'workflows/create-session.ts': 'ok',
    })
    expect(byPath['workflows/busy-hang.ts']).toMatchObject({ durationMs: expect.any(Number), error: { message: expect.stringContaining(`within ${IMPORT_TIMEOUT_MS} ms`) } })
    expect((byPath['workflows/busy-hang.ts'] as unknown as { durationMs: number }).durationMs).toBeGreaterThanOrEqual(IMPORT_TIMEOUT_MS)
    expect(byPath['workflows/throws.ts']).toMatchObject({ error: { message: expect.stringContaining('thrown at import by throws.ts') } })
    expect(byPath['workflows/timer-crash.ts']).toMatchObject({ error: { message: expect.stringContaining('thrown from a timer during the import') } })
    expect(byPath['workflows/exits.ts']).toMatchObject({ error: { message: expect.stringContaining('process.exit(3)') } })
    expect(json.workflows).toEqual(['create-session', 'create-user'])
  })

  it('/workflows lists exactly the served workflows', async () => {
    const { status, json } = await getJson(`${url}/workflows`)
    expect(status).toBe(200)
    expect((json.workflows as { name: string }[]).map((w) => w.name)).toEqual(['create-session', 'create-user'])
    expect(json.workflows[1]).toMatchObject({ source: { kind: 'discovered', file: 'workflows/create-user.ts', export: 'workflow' } })
  })

  it('creates a user, then a session for it, stored in the SQLite file', async () => {
    const created = await execute(url, 'create-user', { inputs: user('ada') })
    expect(created.status).toBe(200)
    expect(created.json).toMatchObject({ workflow_id: 'create-user', outputs: { create: { id: 'ada', email: 'ada@example.com', active: true } } })
    const opened = await execute(url, 'create-session', { inputs: session('ada', 's-ada') })
    expect(opened.status).toBe(200)
    expect(opened.json.outputs).toMatchObject({ user: { id: 'ada', found: true }, session: { id: 's-ada', userId: 'ada', token: 'token-s-ada' } })

    const db = new Database(dbFile, { readonly: true, fileMustExist: true })
    try {
      expect(db.prepare('SELECT id, user_id AS userId FROM sessions WHERE id = ?').get('s-ada')).toEqual({ id: 's-ada', userId: 'ada' })
      // The admin the models module seeds at import, and the user just created.
      expect(db.prepare('SELECT id FROM users ORDER BY id').all()).toEqual([{ id: 'ada' }, { id: 'admin' }])
    } finally {
      db.close()
    }
  })

  it('create-session for an unknown user fails with an error naming the failed node, and stores nothing', async () => {
    const { status, json } = await execute(url, 'create-session', { inputs: session('nobody', 's-nobody') })
    expect(status).toBe(404)
    expect(json.error).toMatchObject({ code: 'RECORD_NOT_FOUND', message: expect.stringContaining('Node "user"'), details: { nodeId: 'user', run_id: expect.any(String) } })
    expect(json.error.message).toContain('"nobody"')
    const db = new Database(dbFile, { readonly: true, fileMustExist: true })
    try {
      expect(db.prepare('SELECT count(*) AS n FROM sessions WHERE id = ?').get('s-nobody')).toEqual({ n: 0 })
    } finally {
      db.close()
    }
  })

  it('a duplicate user is 409 CONFLICT naming the node, and the run is logged and listed with that code', async () => {
    expect((await execute(url, 'create-user', { inputs: user('grace') })).status).toBe(200)
    const { status, json } = await execute(url, 'create-user', { inputs: user('grace') })
    expect(status).toBe(409)
    expect(json.error).toMatchObject({ code: 'CONFLICT', details: { nodeId: 'create' } })
    const runId = (json.error as { details: { run_id: string } }).details.run_id
    await server.waitFor('stdout', new RegExp(`"run_id":"${runId}".*"error_code":"CONFLICT"`))
    const listed = (await getJson(`${url}/runs`)).json as unknown as { runs: { run_id: string; error?: { code?: string } }[] }
    expect(listed.runs.find((run) => run.run_id === runId)?.error).toMatchObject({ code: 'CONFLICT', node: 'create' })
  })

  it('a workflow from a file that failed is 404, naming it', async () => {
    const { status, json } = await execute(url, 'busy-hang', {})
    expect(status).toBe(404)
    expect(json.error).toMatchObject({ code: 'WORKFLOW_NOT_FOUND', message: expect.stringContaining('"busy-hang"') })
  })
})

// PostgreSQL and MySQL: each run gets its own schema / database (see test/dataflow/targets.ts),
// dropped afterwards, so reruns and parallel suites never share the users and sessions tables.
for (const kind of TARGETS.filter((target): target is TargetKind => target.dialect !== 'sqlite')) {
  describe.skipIf(kind.base === undefined)(suiteTitle(kind, 'nexflow start: the seed app over HTTP'), { timeout: SLOW_MS }, () => {
    let target: Provisioned
    let server: NexflowProcess
    let url: string

    beforeAll(async () => {
      target = await provision(kind)
      server = startNexflow([SEED_APP, ...COMMON_FLAGS, '--timeout-ms', '10000'], { env: { NEXFLOW_SEED_DB: target.url } })
      url = await server.listening()
      await waitForReady(url)
    }, SLOW_MS)

    afterAll(async () => {
      // The server's connections go first: then the schema or database can be dropped.
      await server?.stop()
      await target?.cleanup()
    }, SLOW_MS)

    it('serves create-user and create-session', async () => {
      expect(((await getJson(`${url}/workflows`)).json.workflows as { name: string }[]).map((w) => w.name)).toEqual(['create-session', 'create-user'])
      const { json } = await getJson(`${url}/discovery`)
      expect((json.files as { status: string }[]).map((file) => file.status)).toEqual(['ok', 'ok'])
    })

    it('creates a user, then a session for it, stored in the database', async () => {
      const created = await execute(url, 'create-user', { inputs: user('ada') })
      expect(created.status, JSON.stringify(created.json)).toBe(200)
      expect(created.json.outputs.create).toMatchObject({ id: 'ada', email: 'ada@example.com', active: true })
      const opened = await execute(url, 'create-session', { inputs: session('ada', 's-ada') })
      expect(opened.status, JSON.stringify(opened.json)).toBe(200)
      expect(opened.json.outputs.session).toMatchObject({ id: 's-ada', userId: 'ada', expiresAt: '2031-01-01T00:00:00.000Z' })
      expect(await rawQuery(kind, target.url, "SELECT id, user_id FROM sessions WHERE id = 's-ada'")).toEqual([{ id: 's-ada', user_id: 'ada' }])
      expect(await rawQuery(kind, target.url, 'SELECT id FROM users ORDER BY id')).toEqual([{ id: 'ada' }, { id: 'admin' }])
    })

    it('create-session for an unknown user is 404 naming the failed node', async () => {
      const { status, json } = await execute(url, 'create-session', { inputs: session('nobody', 's-nobody') })
      expect(status).toBe(404)
      expect(json.error).toMatchObject({ code: 'RECORD_NOT_FOUND', message: expect.stringContaining('Node "user"'), details: { nodeId: 'user' } })
    })

    it('a duplicate user is 409 CONFLICT', async () => {
      expect((await execute(url, 'create-user', { inputs: user('grace') })).status).toBe(200)
      const { status, json } = await execute(url, 'create-user', { inputs: user('grace') })
      expect(status).toBe(409)
      expect(json.error).toMatchObject({ code: 'CONFLICT', details: { nodeId: 'create' } })
    })
  })
}
