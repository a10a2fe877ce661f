import { randomUUID } from 'node:crypto'
import { performance } from 'node:perf_hooks'
import type { Context, MiddlewareHandler } from 'hono'
import { matchedRoutes } from 'hono/route'
import type { NexusMetrics } from '../metrics.js'
import type { ActivityLog } from '../request-log.js'
import { carryHeaders, collectHeaders } from './response-headers.js'

/** A request id a client may choose: at most this many of `[A-Za-z0-9_=-]` (hono's check); anything else is replaced by a fresh UUID. */
const MAX_REQUEST_ID_CHARS = 128
const NOT_ID_CHARACTER = /[^\w\-=]/

declare module 'hono' {
  interface ContextVariableMap {
    /** The request's `X-Request-Id`: the client's when it is a short token, else a fresh UUID. */
    requestId: string
  }
}

/**
 * The route pattern that answered (`/workflows/:name/execute`), also when a middleware answered
 * first (401, 429): the last route matched. `unmatched` for a 404 with no route: raw paths would
 * let any client mint metric labels.
 */
export function routeOf(c: Context): string {
  const path = matchedRoutes(c).at(-1)?.path
  return path === undefined || path === '*' || path === '/*' ? 'unmatched' : path
}

/** The request's id: the client's `X-Request-Id` when it is a short token (as hono's `requestId` checks), else a fresh UUID. */
function requestIdOf(c: Context): string {
  const asked = c.req.header('x-request-id')
  return asked === undefined || asked.length === 0 || asked.length > MAX_REQUEST_ID_CHARS || NOT_ID_CHARACTER.test(asked) ? randomUUID() : asked
}

export interface RequestFrameOptions {
  /** The secure headers for a request's path (computed once, see protection.ts), if on. */
  fixed?: ((c: Context) => Readonly<Record<string, string>>) | undefined
  metrics?: NexusMetrics | undefined
  log?: ActivityLog | undefined
}

/**
 * The outermost middleware: the request's id, its answer's headers (collected as a plain object,
 * see response-headers.ts), and, when metrics or the request log are on, its timing, counted once
 * the answer is made, so 401s, 429s and errors are counted too. One middleware rather than three:
 * each layer is one more suspended async function per request in flight.
 */
export function requestFrame(options: RequestFrameOptions): MiddlewareHandler {
  const { fixed, metrics, log } = options
  const observed = metrics !== undefined || log !== undefined
  return async function frame(c, next) {
    const started = observed ? performance.now() : 0
    const collected = collectHeaders(c, fixed?.(c))
    const id = requestIdOf(c)
    c.set('requestId', id)
    collected.own['x-request-id'] = id
    await next()
    carryHeaders(c, collected)
    if (!observed) return
    const ms = performance.now() - started
    const route = routeOf(c)
    const status = c.res.status
    metrics?.observeRequest(c.req.method, route, status, ms / 1000)
    log?.request({ requestId: id, method: c.req.method, path: c.req.path, route, status, durationMs: ms, client: c.get('principal')?.id })
  }
}
