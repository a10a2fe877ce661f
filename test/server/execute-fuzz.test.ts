// Hostile execute requests, generated, against an in-process server over real HTTP: whatever a
// caller sends (bodies, headers, paths, modes), the answer is a success or a 4xx that names the
// problem, never a 5xx, and the database holds exactly what the successful requests wrote. The
// server serves the injection fixtures (a DataFlow on SQLite: filters, $regex, bulk writes) and
// a registered Function node workflow.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import Database from 'better-sqlite3'
import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Nexus, WorkflowBuilder } from '../../src/index.js'
import { sseEvents } from './sse.js'

const root = fileURLToPath(new URL('../../fixtures/server/injections', import.meta.url))
const MAX_BODY = 8192
/** What a hostile body may be answered; 202 is `mode: 'async'`, 409 a bulk insert of an id already stored, 422 an Idempotency-Key reused with another body. */
const ALLOWED = new Set([200, 202, 400, 404, 409, 413, 422])

let app: Nexus
let url: string
let scratch: string
let previousDb: string | undefined

beforeAll(async () => {
  scratch = mkdtempSync(join(tmpdir(), 'nexflow-fuzz-'))
  previousDb = process.env.NEXFLOW_TEST_DB
  // The fixture's models read it when a worker imports them (workers inherit this process's env).
  process.env.NEXFLOW_TEST_DB = `sqlite:${join(scratch, 'notes.db')}`
  app = new Nexus({
    apiPort: 0,
    root,
    autoDiscovery: { cache: false },
    workers: 2,
    runTimeoutMs: 5000,
    maxRequestBodyBytes: MAX_BODY,
    // Async runs and keys in this test's own folder, not under the shared fixture root.
    durability: { file: join(scratch, 'nexflow.db') },
    logger: { info: () => {}, warn: () => {} },
  })
  app.register('greet', new WorkflowBuilder().addNode('Function', 'f', { code: '({ name }) => ({ text: "hello " + String(name) })', name: '${name}' }))
  await app.start()
  url = app.url as string
  await app.ready()
}, 60_000)

afterAll(async () => {
  await app?.close()
  if (previousDb === undefined) delete process.env.NEXFLOW_TEST_DB
  else process.env.NEXFLOW_TEST_DB = previousDb
  if (scratch !== undefined) rmSync(scratch, { recursive: true, force: true })
})

/** The ids of the notes stored now. */
function storedNoteIds(): string[] {
  const db = new Database(join(scratch, 'notes.db'), { readonly: true, fileMustExist: true })
  try {
    return (db.prepare('SELECT id FROM notes').all() as { id: string }[]).map((row) => row.id)
  } catch (error) {
    // Nothing has created the table yet: no note was stored.
    if (/no such table/.test((error as Error).message)) return []
    throw error
  } finally {
    db.close()
  }
}

/** A JSON value as a tree, serialized by hand so that keys like `__proto__` stay own keys in the text. */
type Tree = { json: string }
const leaf = (value: unknown): Tree => ({ json: JSON.stringify(value) ?? 'null' })
const object = (entries: [string, Tree][]): Tree => ({ json: `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${v.json}`).join(',')}}` })
const array = (items: Tree[]): Tree => ({ json: `[${items.map((i) => i.json).join(',')}]` })

/** Patterns that backtrack catastrophically on a subject of repeated `a`s. */
const EVIL_REGEX = ['(a+)+$', '^(a|a)*$', '(a|aa)+b', '^(([a-z])+.)+[A-Z]([a-z])+$', '(.*a){25}', '(x+x+)+y']
/** Keys an injection would use: prototype keys, a node's params, query operators, the fixtures' inputs. */
const HOSTILE_KEYS = ['__proto__', 'constructor', 'prototype', 'code', 'filter', 'confirmed', 'data', 'limit', '$where', '$regex', '$ne', '$gt', 'inputs', 'parameters', 'mode', 'owner', 'pattern', 'name', 'x', 'notes', 'id', 'email']

const key = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...HOSTILE_KEYS) },
  { weight: 2, arbitrary: fc.string({ maxLength: 10 }) },
  { weight: 1, arbitrary: fc.integer({ min: 257, max: 400 }).map((n) => 'k'.repeat(n)) },
)
const scalar = fc.oneof(
  fc.string({ maxLength: 20 }).map(leaf),
  fc.constantFrom(...EVIL_REGEX).map(leaf),
  fc.constantFrom(...EVIL_REGEX).map((pattern) => object([['$regex', leaf(pattern)]])),
  fc.integer().map(leaf),
  fc.double({ noNaN: true, noDefaultInfinity: true }).map(leaf),
  fc.boolean().map(leaf),
  fc.constant(leaf(null)),
  fc.constant(leaf('a'.repeat(40) + '!')),
)
const { value } = fc.letrec<{ value: Tree }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    scalar,
    fc.array(tie('value'), { maxLength: 4 }).map(array),
    fc.array(fc.tuple(key, tie('value')), { maxLength: 5 }).map(object),
  ),
}))
/** Nesting deeper than any caller may send, with a prototype key at the bottom now and then. */
const deep = fc.tuple(fc.integer({ min: 30, max: 200 }), fc.boolean(), fc.boolean()).map(([depth, proto, arrays]) => {
  let tree = proto ? object([['__proto__', object([['polluted', leaf(true)]])]]) : leaf(1)
  for (let i = 0; i < depth; i++) tree = arrays ? array([tree]) : object([['a', tree]])
  return tree
})
const mode = fc.oneof(fc.constantFrom('sync', 'stream', 'async', 'SYNC', 'stream ', '', '__proto__').map(leaf), scalar)
const inputs = fc.oneof(value, deep, fc.array(fc.tuple(key, fc.oneof(value, deep)), { maxLength: 6 }).map(object))
/** An execute body as text: usually an object with the keys the route knows, and hostile extras. */
const body = fc.oneof(
  { weight: 6, arbitrary: fc.tuple(fc.option(inputs), fc.option(inputs), fc.option(mode), fc.array(fc.tuple(key, value), { maxLength: 3 })).map(([i, p, m, extra]) => {
    const entries: [string, Tree][] = []
    if (i !== null) entries.push(['inputs', i])
    if (p !== null) entries.push(['parameters', p])
    if (m !== null) entries.push(['mode', m])
    return object([...entries, ...extra]).json
  }) },
  { weight: 1, arbitrary: fc.string({ maxLength: 40 }) },
  { weight: 1, arbitrary: fc.constantFrom('', 'null', '[]', '"inputs"', '{"inputs":', '{"inputs":{}}}', '\u0000', '{"__proto__":{"mode":"stream"}}') },
  { weight: 1, arbitrary: fc.integer({ min: MAX_BODY + 1, max: MAX_BODY * 4 }).map((n) => JSON.stringify({ inputs: { name: 'x'.repeat(n) } })) },
)
const workflow = fc.constantFrom('greet', 'search-email', 'list-notes', 'purge-owner', 'add-notes', 'count-notes', 'double', 'nope', '__proto__', 'constructor', '..%2F..%2Fetc')

/** Each fixture workflow's declared input, and values a caller could plausibly send it. */
const note = fc.record({ id: fc.string({ minLength: 1, maxLength: 6 }), owner: fc.constantFrom('ada', 'bob', '__proto__'), email: fc.string({ maxLength: 12 }) }).map(leaf)
const DECLARED: Record<string, [string, fc.Arbitrary<Tree>] | undefined> = {
  greet: ['name', scalar],
  'search-email': ['pattern', fc.oneof(fc.constantFrom(...EVIL_REGEX, '^ada', 'example\\.com$', '[', '(?<x>a)\\k<x>').map(leaf), scalar)],
  'list-notes': ['owner', scalar],
  'purge-owner': ['owner', scalar],
  'add-notes': ['notes', fc.oneof(fc.array(note, { maxLength: 3 }).map(array), value)],
  double: ['x', fc.oneof(fc.integer().map(leaf), scalar)],
  'count-notes': undefined,
}
/** A request that gets past the body checks more often: a served workflow, its declared input, now and then a hostile extra. */
const plausible = fc.constantFrom(...Object.keys(DECLARED)).chain((name) => {
  const declared = DECLARED[name]
  const own: fc.Arbitrary<[string, Tree][]> = declared === undefined ? fc.constant([]) : declared[1].map((v) => [[declared[0], v]])
  return fc.tuple(own, fc.option(fc.tuple(key, value), { freq: 3 }), fc.constantFrom('sync', 'stream', 'async')).map(([entries, extra, m]): [string, string] => {
    const given = extra === null ? entries : [...entries, extra]
    return [name, object([['inputs', object(given)], ['mode', leaf(m)]]).json]
  })
})
const request = fc.oneof({ weight: 1, arbitrary: fc.tuple(workflow, body) }, { weight: 1, arbitrary: plausible })

interface ErrorShape {
  status?: unknown
  error?: { code?: unknown; message?: unknown }
}

function namesTheProblem(body: ErrorShape): boolean {
  return typeof body.error?.code === 'string' && body.error.code.length > 0 && typeof body.error.message === 'string' && body.error.message.length > 0
}

describe('execute route fuzz', () => {
  it('any hostile body is answered 200 or a 4xx naming the problem, never a 5xx', async () => {
    const seen = new Map<string, number>()
    const count = (what: string) => seen.set(what, (seen.get(what) ?? 0) + 1)
    await fc.assert(
      fc.asyncProperty(request, async ([name, text]) => {
        const response = await fetch(`${url}/workflows/${name}/execute`, { method: 'POST', body: text, headers: { 'content-type': 'application/json' } })
        count(String(response.status))
        const type = response.headers.get('content-type') ?? ''
        if (!ALLOWED.has(response.status)) throw new Error(`answered ${response.status}: ${await response.text()}`)
        if (type.startsWith('text/event-stream')) {
          let last: { event: string; data: string } | undefined
          for await (const event of sseEvents(response)) last = event
          count(`stream ${last?.event ?? 'empty'}`)
          if (last?.event === 'result') return
          if (last?.event !== 'error') throw new Error(`the stream ended without a result or an error (last: ${JSON.stringify(last)})`)
          const error = JSON.parse(last.data) as ErrorShape
          if (!ALLOWED.has(error.status as number) || !namesTheProblem(error)) throw new Error(`the stream ended with ${last.data}`)
          return
        }
        const answer = (await response.json()) as ErrorShape & { outputs?: unknown }
        if (response.status >= 400 && !namesTheProblem(answer)) throw new Error(`a ${response.status} that does not name the problem: ${JSON.stringify(answer)}`)
        if (response.status === 200 && answer.outputs === undefined) throw new Error(`a 200 without outputs: ${JSON.stringify(answer)}`)
      }),
      // Bounded on a loaded two-core machine: what ran by then counts, the rest is skipped.
      { numRuns: 500, interruptAfterTimeLimit: 25_000, markInterruptAsFailure: false },
    )
    // The generators reach past the body checks: some runs succeed, many are refused, some are too large.
    expect(seen.get('400') ?? 0).toBeGreaterThan(0)
    expect(seen.get('200') ?? 0).toBeGreaterThan(0)
    expect(seen.get('stream result') ?? 0).toBeGreaterThan(0)
    // Prototype pollution through any of it would show here.
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
  }, 60_000)

  it('10,000 random requests (bodies, headers, paths, modes): only 2xx or a 4xx naming the problem, and the database holds exactly the notes of the requests that succeeded', async () => {
    const header = fc.oneof(
      fc.constant(undefined),
      fc.uuid(),
      fc.string({ minLength: 1, maxLength: 20 }).filter((text) => /^[\x20-\x7e]+$/.test(text.trim()) && text.trim() === text),
      fc.integer({ min: 256, max: 600 }).map((n) => 'k'.repeat(n)),
      fc.constantFrom('__proto__', 'caf\u00e9', 'a b', '../../etc/passwd', '0', "' OR 1=1 --"),
    )
    const contentType = fc.constantFrom(undefined, 'application/json', 'text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/json; charset=utf-16')
    const path = fc.oneof(
      { weight: 8, arbitrary: fc.constantFrom('/workflows/{}/execute', '/workflows/{}') },
      { weight: 1, arbitrary: fc.constantFrom('/workflows/{}/execute/extra', '/workflows//execute', '/workflows/%2e%2e/{}/execute', '/workflows/{}%00/execute', '/workflows/{}/EXECUTE') },
    )
    // Purges are left out: the rows must be exactly those added.
    const sample = fc.sample(
      fc.tuple(request.filter(([name]) => name !== 'purge-owner'), header, header, contentType, path),
      { numRuns: 10_000, seed: 20261206 },
    )
    // Async runs of the earlier test may still write: wait until every one has ended.
    const busy = async () => ((await (await fetch(`${url}/runs?limit=200`)).json()) as { runs: { mode: string; status: string }[] }).runs.some((run) => run.mode === 'async' && (run.status === 'pending' || run.status === 'running'))
    while (await busy()) await new Promise((resolve) => setTimeout(resolve, 20))
    // What earlier tests stored stays: the rows must be those plus the notes of these requests.
    const added = new Set<string>(storedNoteIds())
    const before = added.size
    const statuses = new Map<number, number>()
    const pendingAsync: { name: string; id: string; notes: string[] }[] = []
    /** The note ids a request to add-notes asked for, if its inputs are what add-notes takes. */
    const notesOf = (name: string, text: string): string[] => {
      if (name !== 'add-notes') return []
      try {
        const notes = (JSON.parse(text) as { inputs?: { notes?: unknown } }).inputs?.notes
        return Array.isArray(notes) ? notes.map((note) => String((note as { id?: unknown }).id)) : []
      } catch {
        return []
      }
    }
    const send = async ([[name, text], key, requestId, type, template]: (typeof sample)[number]): Promise<void> => {
      const headers: Record<string, string> = {}
      if (key !== undefined) headers['idempotency-key'] = key
      if (requestId !== undefined) headers['x-request-id'] = requestId
      if (type !== undefined) headers['content-type'] = type
      const target = `${url}${template.replace('{}', encodeURIComponent(name))}`
      const response = await fetch(target, { method: 'POST', body: text, headers })
      statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1)
      if (!ALLOWED.has(response.status)) throw new Error(`POST ${target} ${JSON.stringify(headers)} ${text.slice(0, 200)} answered ${response.status}: ${await response.text()}`)
      if ((response.headers.get('content-type') ?? '').startsWith('text/event-stream')) {
        let last: { event: string; data: string } | undefined
        for await (const event of sseEvents(response)) last = event
        if (last?.event === 'result') for (const id of notesOf(name, text)) added.add(id)
        else if (last?.event !== 'error' || !namesTheProblem(JSON.parse(last.data) as ErrorShape)) throw new Error(`a stream ended with ${JSON.stringify(last)}`)
        return
      }
      const answer = (await response.json()) as ErrorShape & { execution_id?: string }
      if (response.status >= 400 && !namesTheProblem(answer)) throw new Error(`a ${response.status} that does not name the problem: ${JSON.stringify(answer)}`)
      if (response.status === 200) for (const id of notesOf(name, text)) added.add(id)
      if (response.status === 202) pendingAsync.push({ name, id: answer.execution_id as string, notes: notesOf(name, text) })
    }
    let next = 0
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        while (next < sample.length) await send(sample[next++] as (typeof sample)[number])
      }),
    )
    // Async runs finish in their own time: each is awaited through its status.
    for (const run of pendingAsync) {
      let status = 'pending'
      while (status === 'pending' || status === 'running') {
        const response = await fetch(`${url}/workflows/${encodeURIComponent(run.name)}/status/${run.id}`)
        expect(response.status).toBe(200)
        status = ((await response.json()) as { status: string }).status
        if (status === 'pending' || status === 'running') await new Promise((resolve) => setTimeout(resolve, 20))
      }
      if (status === 'completed') for (const id of run.notes) added.add(id)
    }
    expect([...statuses.values()].reduce((a, b) => a + b, 0)).toBe(10_000)
    expect(statuses.get(200) ?? 0).toBeGreaterThan(0)
    expect(statuses.get(400) ?? 0).toBeGreaterThan(0)
    // Async runs were accepted, and keys reused with another body refused (a seeded sample: about 600 and 300).
    expect(statuses.get(202) ?? 0).toBeGreaterThan(0)
    expect(statuses.get(422) ?? 0).toBeGreaterThan(0)
    expect(added.size).toBeGreaterThan(before)
    expect(storedNoteIds().sort()).toEqual([...added].sort())
    // The server is still serving.
    expect((await fetch(`${url}/health`)).status).toBe(200)
  }, 600_000)

  it('a backtracking $regex is refused with a 400 naming it, sync and streamed', async () => {
    const body = (mode: string) => JSON.stringify({ inputs: { pattern: '^(a+)+$' }, mode })
    const sync = await fetch(`${url}/workflows/search-email/execute`, { method: 'POST', body: body('sync') })
    const syncError = (await sync.json()) as ErrorShape
    expect(sync.status).toBe(400)
    expect(String(syncError.error?.message)).toMatch(/regex|pattern|backtrack/i)
    const streamed = await fetch(`${url}/workflows/search-email/execute`, { method: 'POST', body: body('stream') })
    let last: { event: string; data: string } | undefined
    if ((streamed.headers.get('content-type') ?? '').startsWith('text/event-stream')) for await (const event of sseEvents(streamed)) last = event
    else last = { event: 'error', data: JSON.stringify({ status: streamed.status, ...((await streamed.json()) as object) }) }
    expect(last?.event).toBe('error')
    expect(JSON.parse(last?.data ?? '{}')).toMatchObject({ status: 400, error: { code: syncError.error?.code, message: syncError.error?.message } })
  })
})
