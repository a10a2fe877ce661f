import type { IncomingMessage } from 'node:http'
import type { Context, MiddlewareHandler } from 'hono'
import { MemoryStore, rateLimiter } from 'hono-rate-limiter'
import { NexflowError } from '../../errors.js'
import type { RateLimitOptions } from '../production-options.js'
import { isExempt } from './auth.js'
import { errorResponse } from './errors.js'

/** The address of the connection (@hono/node-server puts the Node request in `c.env.incoming`). */
function remoteAddress(c: Context): string {
  return (c.env as { incoming?: IncomingMessage } | undefined)?.incoming?.socket.remoteAddress ?? 'unknown'
}

/**
 * Per-client rate limiting with hono-rate-limiter (a maintained middleware, built for hono, with
 * the IETF draft `RateLimit-*` headers and `Retry-After`, and stores for Redis when several
 * instances must share counts). The client is the authenticated principal (API key id or JWT
 * subject) when auth named one, else the connection's IP address. Counts are kept in this
 * process's memory: behind several instances each counts its own share.
 */
export function createRateLimit(options: RateLimitOptions, development: boolean): { middleware: MiddlewareHandler; close(): void } {
  const store = new MemoryStore()
  const seconds = Math.ceil(options.windowMs / 1000)
  const middleware = rateLimiter({
    windowMs: options.windowMs,
    limit: options.max,
    standardHeaders: 'draft-6',
    store,
    skip: isExempt,
    keyGenerator: (c) => c.get('principal')?.id ?? `ip:${remoteAddress(c)}`,
    handler: (c) => {
      const error = new NexflowError('RATE_LIMITED', `Too many requests: at most ${options.max} per ${seconds} s for each client; retry after the Retry-After header's seconds`, { details: { limit: options.max, window_s: seconds } })
      const { status, body } = errorResponse(error, development)
      return c.json(body, status as 429)
    },
  })
  return { middleware, close: () => store.shutdown() }
}
