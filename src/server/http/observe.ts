import { performance } from 'node:perf_hooks'
import type { Context, MiddlewareHandler } from 'hono'
import { matchedRoutes } from 'hono/route'
import type { NexusMetrics } from '../metrics.js'
import type { ActivityLog } from '../request-log.js'

/**
 * The route pattern that answered (`/workflows/:name/execute`), also when a middleware answered
 * first (401, 429): the last route matched. `unmatched` for a 404 with no route: raw paths would
 * let any client mint metric labels.
 */
export function routeOf(c: Context): string {
  const path = matchedRoutes(c).at(-1)?.path
  return path === undefined || path === '*' || path === '/*' ? 'unmatched' : path
}

/**
 * Times each request once and hands the result to the metrics and the log line. It runs outside
 * every other middleware but the request id, so 401s, 429s and errors are counted too.
 */
export function observeRequests(metrics: NexusMetrics | undefined, log: ActivityLog | undefined): MiddlewareHandler {
  return async function observe(c, next) {
    const started = performance.now()
    await next()
    const ms = performance.now() - started
    const route = routeOf(c)
    const status = c.res.status
    metrics?.observeRequest(c.req.method, route, status, ms / 1000)
    log?.request({ requestId: c.get('requestId'), method: c.req.method, path: c.req.path, route, status, durationMs: ms, client: c.get('principal')?.id })
  }
}
