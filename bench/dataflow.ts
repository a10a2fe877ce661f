// DataFlow on SQLite and PostgreSQL, each against hand-written SQL with the same driver in the same
// run: BulkCreate of 100k rows vs a batched multi-row INSERT, a single Create, and a filtered List
// over the 100k rows. PostgreSQL runs when NEXFLOW_TEST_POSTGRES_URL (or a postgres DATABASE_URL)
// is set. Run: npx tsx bench/dataflow.ts
import { randomBytes } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import pg from 'pg'
import { z } from 'zod'
import { DataFlow, NodeRegistry } from '../src/index.js'
import { measure, printTable } from './measure.js'

const ROWS = 100_000
const BATCH = 1000
const RUNS = 3

const shape = { email: z.string(), name: z.string(), age: z.number().int(), score: z.number(), active: z.boolean(), joined: z.date() }
type Row = { email: string; name: string; age: number; score: number; active: boolean; joined: Date }

function makeRows(): Row[] {
  const joined = new Date('2024-01-01T00:00:00Z')
  return Array.from({ length: ROWS }, (_, i) => ({ email: `user${i}@example.com`, name: `User ${i}`, age: 18 + (i % 60), score: (i % 1000) / 10, active: i % 3 !== 0, joined }))
}

const listFilter = { active: true, age: { $gte: 30, $lt: 40 } }
const LIST_LIMIT = 100

interface Target {
  name: string
  url: string
  /** Empties the table between runs. */
  truncate(): Promise<void>
  /** The hand-written batched INSERT of the same rows, the same conversions, one transaction. */
  handWritten(rows: Row[]): Promise<void>
  /** The hand-written equivalent of the filtered List. */
  handList(): Promise<unknown[]>
  /** A hand-written single-row INSERT returning the row, as Create does. */
  handCreate(row: Row): Promise<unknown>
  close(): Promise<void>
}

function sqliteTarget(dir: string): Target {
  const path = join(dir, 'bench.db')
  const raw = new Database(path)
  raw.pragma('journal_mode = WAL')
  raw.pragma('synchronous = NORMAL')
  const columns = '(email, name, age, score, active, joined, created_at, updated_at)'
  const statement = (n: number) => raw.prepare(`INSERT INTO people ${columns} VALUES ${new Array<string>(n).fill('(?, ?, ?, ?, ?, ?, ?, ?)').join(', ')}`)
  // Prepared once, on first use (the table exists only after DataFlow migrated), as DataFlow caches its statements.
  let listStatement: Database.Statement | undefined
  let insertStatement: Database.Statement | undefined
  const list = () => (listStatement ??= raw.prepare('SELECT * FROM people WHERE active = ? AND age >= ? AND age < ? ORDER BY id LIMIT ?'))
  const insertOne = () => (insertStatement ??= raw.prepare(`INSERT INTO people ${columns} VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING *`))
  return {
    name: 'SQLite (file, WAL)',
    url: `sqlite:${path}`,
    truncate: () => Promise.resolve(void raw.exec('DELETE FROM people')),
    handWritten: (rows) => {
      const full = statement(BATCH)
      const now = new Date().toISOString()
      raw.exec('BEGIN IMMEDIATE')
      for (let start = 0; start < rows.length; start += BATCH) {
        const chunk = rows.slice(start, start + BATCH)
        const values: unknown[] = []
        for (const r of chunk) values.push(r.email, r.name, r.age, r.score, r.active ? 1 : 0, r.joined.toISOString(), now, now)
        ;(chunk.length === BATCH ? full : statement(chunk.length)).run(values)
      }
      raw.exec('COMMIT')
      return Promise.resolve()
    },
    handList: () => Promise.resolve(list().all(1, 30, 40, LIST_LIMIT)),
    handCreate: (r) => {
      const now = new Date().toISOString()
      // all(), not get(): get() stops before the step where SQLite checkpoints its WAL (bench/server-baseline.ts).
      return Promise.resolve(insertOne().all(r.email, r.name, r.age, r.score, r.active ? 1 : 0, r.joined.toISOString(), now, now)[0])
    },
    close: () => Promise.resolve(void raw.close()),
  }
}

async function postgresTarget(base: string): Promise<Target> {
  const schema = `nf_bench_${randomBytes(4).toString('hex')}`
  const client = new pg.Client({ connectionString: base, options: `-c search_path=${schema}` })
  await client.connect()
  await client.query(`CREATE SCHEMA "${schema}"`)
  const cols = 8
  const valuesSql = (n: number) => Array.from({ length: n }, (_, r) => `(${Array.from({ length: cols }, (_, c) => `$${r * cols + c + 1}`).join(', ')})`).join(', ')
  const fullSql = `INSERT INTO people (email, name, age, score, active, joined, created_at, updated_at) VALUES ${valuesSql(BATCH)}`
  return {
    name: 'PostgreSQL',
    url: `${base}${base.includes('?') ? '&' : '?'}schema=${schema}`,
    truncate: async () => {
      await client.query('TRUNCATE people')
    },
    handWritten: async (rows) => {
      const now = new Date()
      await client.query('BEGIN')
      for (let start = 0; start < rows.length; start += BATCH) {
        const chunk = rows.slice(start, start + BATCH)
        const values: unknown[] = []
        for (const r of chunk) values.push(r.email, r.name, r.age, r.score, r.active, r.joined, now, now)
        const text = chunk.length === BATCH ? fullSql : `INSERT INTO people (email, name, age, score, active, joined, created_at, updated_at) VALUES ${valuesSql(chunk.length)}`
        await client.query(text, values)
      }
      await client.query('COMMIT')
    },
    handCreate: async (r) => {
      const now = new Date()
      return (await client.query('INSERT INTO people (email, name, age, score, active, joined, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING *', [r.email, r.name, r.age, r.score, r.active, r.joined, now, now])).rows[0] as unknown
    },
    handList: async (): Promise<unknown[]> => (await client.query('SELECT * FROM people WHERE active = $1 AND age >= $2 AND age < $3 ORDER BY id LIMIT $4', [true, 30, 40, LIST_LIMIT])).rows as unknown[],
    close: async () => {
      await client.query(`DROP SCHEMA "${schema}" CASCADE`)
      await client.end()
    },
  }
}

function rate(ms: number): string {
  return `${Math.round(ROWS / (ms / 1000)).toLocaleString('en-US')} rows/s`
}

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const start = performance.now()
  await fn()
  return performance.now() - start
}

async function benchTarget(target: Target, rows: Row[]): Promise<void> {
  const db = new DataFlow({ databaseUrl: target.url, registry: new NodeRegistry(), slowQueryMs: null, skipRegistry: true })
  const Person = db.model('Person', shape, { indexes: [{ fields: ['age'] }] })
  await db.migrate()

  // Alternate the two so neither benefits from running second; keep the best of RUNS each.
  const dataflowMs: number[] = []
  const handMs: number[] = []
  for (let run = 0; run < RUNS; run++) {
    await target.truncate()
    dataflowMs.push(await timed(() => Person.bulkCreate({ data: rows, batchSize: BATCH })))
    await target.truncate()
    handMs.push(await timed(() => target.handWritten(rows)))
  }
  // Leave exactly one copy of the rows for the List benchmark.
  await target.truncate()
  await Person.bulkCreate({ data: rows, batchSize: BATCH })

  const bestDataflow = Math.min(...dataflowMs)
  const bestHand = Math.min(...handMs)
  console.log(`\n${target.name}: BulkCreate of ${ROWS.toLocaleString('en-US')} rows (batchSize ${BATCH}, one transaction; best of ${RUNS})`)
  console.log(`  hand-written batched INSERT (same driver)  ${bestHand.toFixed(0).padStart(6)} ms  ${rate(bestHand)}`)
  console.log(`  DataFlow BulkCreate (zod-validated)        ${bestDataflow.toFixed(0).padStart(6)} ms  ${rate(bestDataflow)}`)
  console.log(`  ratio DataFlow / hand-written: ${(bestHand / bestDataflow).toFixed(2)}x the hand-written throughput`)

  let n = 0
  const single = () => ({ email: `single${n++}@example.com`, name: 'Single', age: 40, score: 1, active: true, joined: new Date() })
  const handCreate = await measure('hand-written INSERT ... RETURNING', () => target.handCreate(single()), { minMs: 1000, warmup: 50 })
  const create = await measure('DataFlow Create (one row)', () => Person.create(single()), { minMs: 1000, warmup: 50 })
  const handList = await measure('hand-written SELECT (same filter)', () => target.handList(), { minMs: 1000, warmup: 20 })
  const list = await measure(`DataFlow List (filter, limit ${LIST_LIMIT})`, () => Person.list({ filter: listFilter, limit: LIST_LIMIT }), { minMs: 1000, warmup: 20 })
  printTable(`${target.name}: single Create (baseline: the same INSERT by hand)`, [handCreate, create], handCreate)
  printTable(`${target.name}: filtered List over ${ROWS.toLocaleString('en-US')} rows, active = true AND 30 <= age < 40, age indexed (baseline: the same SELECT by hand)`, [handList, list], handList)
  const listed = await Person.list({ filter: listFilter, limit: LIST_LIMIT })
  if (listed.records.length !== LIST_LIMIT) throw new Error(`List returned ${listed.records.length} records`)
  await db.close()
}

export async function runDataflowBench(): Promise<void> {
  const rows = makeRows()
  const dir = await mkdtemp(join(tmpdir(), 'nexflow-bench-'))
  try {
    // The tables are created by DataFlow (same DDL for both contenders).
    const sqlite = sqliteTarget(dir)
    await benchTarget(sqlite, rows)
    await sqlite.close()
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
  const databaseUrl = process.env.DATABASE_URL
  const pgUrl = process.env.NEXFLOW_TEST_POSTGRES_URL || (databaseUrl !== undefined && /^postgres(ql)?:/.test(databaseUrl) ? databaseUrl : undefined)
  if (pgUrl === undefined) {
    console.log('\nPostgreSQL: skipped (set NEXFLOW_TEST_POSTGRES_URL)')
    return
  }
  const postgres = await postgresTarget(pgUrl)
  try {
    await benchTarget(postgres, rows)
  } finally {
    await postgres.close()
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await runDataflowBench()
