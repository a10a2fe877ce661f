import type { IncomingMessage } from 'node:http'
import type { Context, Env, MiddlewareHandler, Next } from 'hono'
import { MemoryStore, rateLimiter, type ClientRateLimitInfo, type HonoConfigType, type Store } from 'hono-rate-limiter'
import { NexflowError } from '../../errors.js'
import type { SharedHits } from '../durability/durability.js'
import type { RateLimitOptions } from '../production-options.js'
import { isExempt } from './auth.js'
import { errorResponse } from './errors.js'
import { setAnswerHeader } from './response-headers.js'

/** What hono-rate-limiter puts in the context (`requestPropertyName`, `rateLimit` by default) before the route runs. */
interface RateLimitInfo {
  limit: number
  remaining: number
  resetTime: Date | undefined
}

declare module 'hono' {
  interface ContextVariableMap {
    rateLimit: RateLimitInfo
  }
}

/** The address of the connection (@hono/node-server puts the Node request in `c.env.incoming`). */
function remoteAddress(c: Context): string {
  return (c.env as { incoming?: IncomingMessage } | undefined)?.incoming?.socket.remoteAddress ?? 'unknown'
}

/** After a count failed, one request asks the database again this much later; the others count in memory meanwhile. */
const SHARED_RETRY_MS = 5000

/**
 * Counts in the durability database (every instance counts a client's requests together). When
 * the database fails or does not answer in time (see PostgresHitCounter), this process's memory
 * counts until it is back: a limit that holds per instance rather than none, and never a 5xx for
 * a request that was not over it. During an outage one request at a time probes the database.
 */
class SharedStore implements Store {
  readonly localKeys = false
  readonly #shared: SharedHits
  readonly #memory = new MemoryStore()
  readonly #warn: (message: string) => void
  #failing = false
  /** While failing, counts are made in memory until then. */
  #retryAt = 0
  #probing = false

  constructor(shared: SharedHits, warn: (message: string) => void) {
    this.#shared = shared
    this.#warn = warn
  }

  init(options: HonoConfigType): void {
    this.#memory.init(options)
  }

  async increment(key: string): Promise<ClientRateLimitInfo> {
    if (this.#failing && (this.#probing || Date.now() < this.#retryAt)) return this.#memory.increment(key)
    const probe = this.#failing
    this.#probing = probe
    try {
      const { hits, resetAt } = await this.#shared.count(key)
      if (this.#failing) this.#warn('nexflow: rate limit: counting in the durability database again')
      this.#failing = false
      return { totalHits: hits, resetTime: new Date(resetAt) }
    } catch (error) {
      if (!this.#failing) this.#warn(`nexflow: rate limit: the durability database cannot count requests (${(error as Error).message}); this instance counts its own until it can`)
      this.#failing = true
      this.#retryAt = Date.now() + SHARED_RETRY_MS
      return this.#memory.increment(key)
    } finally {
      if (probe) this.#probing = false
    }
  }

  async decrement(key: string): Promise<void> {
    await this.#shared.uncount(key).catch(() => this.#memory.decrement(key))
  }

  async resetKey(key: string): Promise<void> {
    this.#memory.resetKey(key)
    await this.#shared.forget(key).catch(() => undefined)
  }

  shutdown(): void {
    this.#memory.shutdown()
  }
}

/** Seconds until the client's window resets: at least 0, whole seconds rounded up. */
function secondsUntil(reset: Date | undefined, windowSeconds: number): number {
  return reset === undefined ? windowSeconds : Math.max(0, Math.ceil((reset.getTime() - Date.now()) / 1000))
}

/**
 * The IETF draft-6 `RateLimit-*` headers, as hono-rate-limiter writes them with `standardHeaders:
 * 'draft-6'`, but into the answer's collected headers (response-headers.ts). hono-rate-limiter
 * writes them with hono's `c.header()`; giving each request's context a replacement for it, to
 * catch them, made the server's thread promote 16% of what it allocated to the old generation
 * instead of 6% (bench/server.ts under `--trace-gc-nvp`).
 */
function setRateLimitHeaders(c: Context, info: RateLimitInfo, windowSeconds: number): void {
  const reset = secondsUntil(info.resetTime, windowSeconds)
  setAnswerHeader(c, 'RateLimit-Policy', `${info.limit};w=${windowSeconds}`)
  setAnswerHeader(c, 'RateLimit-Limit', String(info.limit))
  setAnswerHeader(c, 'RateLimit-Remaining', String(info.remaining))
  if (reset > 0) setAnswerHeader(c, 'RateLimit-Reset', String(reset))
}

/**
 * Per-client rate limiting with hono-rate-limiter (a maintained middleware, built for hono): it
 * counts, and nexflow writes the IETF draft `RateLimit-*` headers and `Retry-After` from its
 * count. The client is the authenticated principal (API key id or JWT subject) when auth named
 * one, else the connection's IP address. Counts are kept in this process's memory, or with
 * `shared` in the durability database, so that several instances behind a load balancer count a
 * client's requests together.
 */
export function createRateLimit(options: RateLimitOptions, development: boolean, shared?: { hits: SharedHits; warn: (message: string) => void }): { middleware: MiddlewareHandler; close(): void } {
  const store = shared === undefined ? new MemoryStore() : new SharedStore(shared.hits, shared.warn)
  const seconds = Math.ceil(options.windowMs / 1000)
  const limiter = rateLimiter({
    windowMs: options.windowMs,
    limit: options.max,
    standardHeaders: false,
    store,
    skip: isExempt,
    keyGenerator: (c) => c.get('principal')?.id ?? `ip:${remoteAddress(c)}`,
    handler: (c) => {
      const info = c.get('rateLimit')
      setRateLimitHeaders(c, info, seconds)
      setAnswerHeader(c, 'Retry-After', String(secondsUntil(info.resetTime, seconds)))
      const error = new NexflowError('RATE_LIMITED', `Too many requests: at most ${options.max} per ${seconds} s for each client; retry after the Retry-After header's seconds`, { details: { limit: options.max, window_s: seconds } })
      const { status, body } = errorResponse(error, development)
      return c.json(body, status as 429)
    },
  })
  // The limiter calls `next` for a request under the limit (its count set) and for an exempt path (none).
  const middleware = (c: Context<Env, string>, next: Next) =>
    limiter(c, () => {
      const info = c.get('rateLimit') as RateLimitInfo | undefined
      if (info !== undefined) setRateLimitHeaders(c, info, seconds)
      return next()
    })
  return { middleware, close: () => void store.shutdown() }
}
