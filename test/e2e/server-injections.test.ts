// A remote caller controls only a workflow's declared inputs, over real HTTP against `nexflow start`:
// never a node's configured filter, a BulkDelete's `confirmed`, a Function node's code, or the
// prototype; a catastrophic $regex is refused before it runs. Row counts are read from the SQLite
// file directly (read-only), not only through the server.
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { COMMON_FLAGS, execute, getJson, killAll, SERVER_FIXTURES, SLOW_MS, startNexflow, tempDir, waitForReady, type NexflowProcess } from './server-helpers.js'

afterAll(killAll)

const NOTES = [
  { id: 'n1', owner: 'ada', email: 'ada@example.com' },
  { id: 'n2', owner: 'ada', email: 'ada.two@example.com' },
  { id: 'n3', owner: 'bob', email: 'bob@example.com' },
  // A subject on which `^(a+)+$` backtracks for longer than any deadline, had it run.
  { id: 'n4', owner: 'cy', email: `${'a'.repeat(40)}!` },
]

describe('nexflow start: injections over HTTP against a DataFlow app', { timeout: SLOW_MS }, () => {
  const dir = tempDir('nexflow-server-injections-')
  const dbFile = join(dir.path, 'notes.db')
  let server: NexflowProcess
  let url: string

  /** Every note id in the database, read beside the server. */
  const storedIds = (): string[] => {
    const db = new Database(dbFile, { readonly: true, fileMustExist: true })
    try {
      return (db.prepare('SELECT id FROM notes ORDER BY id').all() as { id: string }[]).map((row) => row.id)
    } finally {
      db.close()
    }
  }
  const count = async (): Promise<number> => {
    const { status, json } = await execute(url, 'count-notes', {})
    expect(status).toBe(200)
    return json.outputs.count.count as number
  }
  const listOwners = async (owner: string): Promise<string[]> => {
    const { status, json } = await execute(url, 'list-notes', { inputs: { owner } })
    expect(status).toBe(200)
    return (json.outputs.list.records as { owner: string }[]).map((record) => record.owner)
  }

  beforeAll(async () => {
    server = startNexflow([join(SERVER_FIXTURES, 'injections'), ...COMMON_FLAGS], { env: { NEXFLOW_TEST_DB: `sqlite:${dbFile}` } })
    url = await server.listening()
    await waitForReady(url)
    const added = await execute(url, 'add-notes', { inputs: { notes: NOTES } })
    if (added.status !== 200) throw new Error(`seeding the notes failed: ${JSON.stringify(added.json)}`)
  }, SLOW_MS)

  afterAll(async () => {
    await server?.stop()
    dir.remove()
  }, SLOW_MS)

  it('serves the fixture workflows, with only their declared inputs', async () => {
    const { json } = await getJson(`${url}/workflows`)
    const schemas = Object.fromEntries((json.workflows as { name: string; input_schema: { properties: object } }[]).map((w) => [w.name, Object.keys(w.input_schema.properties)]))
    expect(schemas).toEqual({ 'add-notes': ['notes'], 'count-notes': [], double: ['x'], 'list-notes': ['owner'], 'purge-owner': ['owner'], 'search-email': ['pattern'] })
    expect(storedIds()).toEqual(['n1', 'n2', 'n3', 'n4'])
  })

  it("a caller's filter is 400, and the configured filter is what runs", async () => {
    for (const inputs of [
      { owner: 'ada', filter: {} },
      { owner: 'ada', filter: { owner: 'bob' } },
      // A node-specific override: `{ nodeId: { param } }` is for in-process callers only.
      { owner: 'ada', list: { filter: {} } },
    ]) {
      const { status, json } = await execute(url, 'list-notes', { inputs })
      expect(status, JSON.stringify(inputs)).toBe(400)
      expect(json.error.code).toBe('VALIDATION_FAILED')
      expect(json.error.message).toMatch(/input "(filter|list)" is not an input of this workflow/)
    }
    expect(await listOwners('ada')).toEqual(['ada', 'ada'])
    expect(await listOwners('bob')).toEqual(['bob'])
  })

  it('confirmed: true on a BulkDelete left unconfirmed is 400, and no row is deleted', async () => {
    const { status, json } = await execute(url, 'purge-owner', { inputs: { owner: 'ada', confirmed: true } })
    expect(status).toBe(400)
    expect(json.error.message).toContain('input "confirmed" is not an input of this workflow')
    // Without the owner: refused before the filter could be emptied (it is a required input).
    const empty = await execute(url, 'purge-owner', { inputs: {} })
    expect(empty.status).toBe(400)
    expect(empty.json.error.message).toContain('input "owner" is required')
    expect(await count()).toBe(NOTES.length)
    expect(storedIds()).toEqual(['n1', 'n2', 'n3', 'n4'])
  })

  it("a Function node's code is 400 and never runs", async () => {
    const { status, json } = await execute(url, 'double', { inputs: { x: 2, code: '() => ({ doubled: process.pid })' } })
    expect(status).toBe(400)
    expect(json.error.message).toContain('input "code" is not an input of this workflow')
    const fine = await execute(url, 'double', { inputs: { x: 21 } })
    expect(fine.status).toBe(200)
    expect(fine.json.outputs.double).toEqual({ doubled: 42 })
  })

  it('a __proto__ key is 400, in the inputs or nested in a value', async () => {
    for (const body of ['{ "inputs": { "owner": "ada", "__proto__": { "owner": "bob" } } }', '{ "inputs": { "notes": [{ "id": "n9", "owner": "x", "email": "x@example.com", "__proto__": { "polluted": true } }] } }']) {
      const name = body.includes('"notes"') ? 'add-notes' : 'list-notes'
      const { status, json } = await execute(url, name, body)
      expect(status, body).toBe(400)
      expect(json.error.message).toContain('key "__proto__"')
    }
    expect(storedIds()).toEqual(['n1', 'n2', 'n3', 'n4'])
  })

  it('a backtracking $regex input is a 4xx naming the problem, and the server answers /health quickly afterwards', async () => {
    const started = performance.now()
    const { status, json } = await execute(url, 'search-email', { inputs: { pattern: '^(a+)+$' } })
    expect(status).toBeGreaterThanOrEqual(400)
    expect(status).toBeLessThan(500)
    expect(json.error).toMatchObject({ code: 'VALIDATION_FAILED', details: { nodeId: 'search' } })
    expect(json.error.message).toContain('$regex on field "email"')
    expect(json.error.message).toContain('backtrack')
    // Refused before it ran: had it run on note n4, it would have spun until the run deadline
    // (30 s by default). The bounds are generous for a loaded CI machine.
    expect(performance.now() - started).toBeLessThan(15_000)
    const healthStarted = performance.now()
    const health = await fetch(`${url}/health`)
    expect(health.status).toBe(200)
    expect((await health.json()) as object).toMatchObject({ status: 'ok', runs_in_flight: 0 })
    expect(performance.now() - healthStarted).toBeLessThan(5000)
    // A safe pattern works.
    const safe = await execute(url, 'search-email', { inputs: { pattern: '^ada' } })
    expect(safe.status).toBe(200)
    expect((safe.json.outputs.search.records as { id: string }[]).map((r) => r.id)).toEqual(['n1', 'n2'])
  })

  // Regression: a whole-string template nested in a configured filter (`{ owner: '${owner}' }`)
  // accepted any JSON, so `owner: { "$ne": "nobody" }` rewrote the author's filter (every owner's
  // notes listed; through purge-owner, every row deleted without `confirmed`). A template inside a
  // shaped param now takes a value (a scalar or a list of them), never structure.
  it('an operator object in place of a filter value is refused', async () => {
    const listed = await execute(url, 'list-notes', { inputs: { owner: { $ne: 'nobody' } } })
    expect(listed.status).toBe(400)
    expect(listed.json.error.message).toContain('input "owner"')
  })

  // Regression: leaving out the input of a template inside an optional param dropped the whole
  // param, so list-notes with no `owner` ran with no filter and listed every owner's notes.
  it('leaving out the input of a configured filter is refused, naming it', async () => {
    const { status, json } = await execute(url, 'list-notes', { inputs: {} })
    expect(status).toBe(400)
    expect(json.error.message).toContain('input "owner" is required')
  })

  // Runs last: before the fix it deleted every row.
  it('an operator object cannot widen a BulkDelete', async () => {
    const { status } = await execute(url, 'purge-owner', { inputs: { owner: { $ne: 'nobody' } } })
    expect(status).toBe(400)
    expect(storedIds()).toEqual(['n1', 'n2', 'n3', 'n4'])
  })
})
