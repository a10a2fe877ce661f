import { TurnBatch } from './turn-batch.js'

/** A client's requests in its current window, as counted with the one just made. */
export interface HitCount {
  hits: number
  /** When the window ends (ms since the epoch). */
  resetAt: number
}

/**
 * Every rate-limited request waits on its count: a count the database has not answered by then
 * fails (the caller counts in memory instead), rather than holding the request while TCP gives up
 * on a lost host. The statement itself is abandoned after as long, so a batch never stays stuck.
 */
export const COUNT_TIMEOUT_MS = 2000

/** Where the counter runs its statements: the durability store's pool. */
export interface SqlExecutor {
  executeSql(text: string, values?: unknown[], timeoutMs?: number): Promise<{ rows: unknown[] }>
}

/** `promise`, or a rejection naming `what` once `ms` have passed. */
export function withDeadline<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} took over ${ms} ms`)), ms)
  })
  return Promise.race([promise, late]).finally(() => clearTimeout(timer))
}

/**
 * Rate-limit counts every instance shares, in the PostgreSQL durability database: one row per
 * client with its hits in a fixed window of `windowMs` from its first hit. The counts of one turn
 * of the event loop go in one statement. Its rows are taken in key order, so two instances
 * counting the same clients at once never wait on each other in a cycle.
 */
export class PostgresHitCounter {
  readonly #db: SqlExecutor
  readonly #table: string
  readonly #windowMs: number
  readonly #batch = new TurnBatch<string, HitCount>((keys) => this.#count(keys))

  /** `schema` was checked to be a plain identifier (durability-options.ts). */
  constructor(db: SqlExecutor, schema: string, windowMs: number) {
    this.#db = db
    this.#table = `${schema}.rate_limits`
    this.#windowMs = windowMs
  }

  count(key: string): Promise<HitCount> {
    return withDeadline(this.#batch.add(key), COUNT_TIMEOUT_MS, 'the count')
  }

  async uncount(key: string): Promise<void> {
    await this.#db.executeSql(`UPDATE ${this.#table} SET hits = GREATEST(hits - 1, 0) WHERE key = $1`, [key])
  }

  async forget(key: string): Promise<void> {
    await this.#db.executeSql(`DELETE FROM ${this.#table} WHERE key = $1`, [key])
  }

  /** Counts a batch as if its hits came one after another, in the order given. */
  async #count(keys: string[]): Promise<HitCount[]> {
    const now = Date.now()
    // A key twice in one INSERT ... ON CONFLICT is an error: each key once, with its number of hits.
    const { rows } = await this.#db.executeSql(
      `WITH batch AS (SELECT key, count(*)::int AS n FROM unnest($1::text[]) AS key GROUP BY key ORDER BY key)
       INSERT INTO ${this.#table} AS counted (key, hits, reset_at) SELECT key, n, $2 FROM batch
       ON CONFLICT (key) DO UPDATE SET
         hits = CASE WHEN counted.reset_at <= $3 THEN EXCLUDED.hits ELSE counted.hits + EXCLUDED.hits END,
         reset_at = CASE WHEN counted.reset_at <= $3 THEN EXCLUDED.reset_at ELSE counted.reset_at END
       RETURNING key, hits, reset_at`,
      [keys, now + this.#windowMs, now],
      COUNT_TIMEOUT_MS,
    )
    const after = new Map((rows as { key: string; hits: number; reset_at: string | number }[]).map((row) => [row.key, { hits: row.hits, resetAt: Number(row.reset_at) }]))
    const inBatch = new Map<string, number>()
    for (const key of keys) inBatch.set(key, (inBatch.get(key) ?? 0) + 1)
    const counted = new Map<string, number>()
    return keys.map((key) => {
      const row = after.get(key) as HitCount
      const before = counted.get(key) ?? 0
      counted.set(key, before + 1)
      return { hits: row.hits - (inBatch.get(key) as number) + before + 1, resetAt: row.resetAt }
    })
  }
}
