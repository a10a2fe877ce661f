import type { MiddlewareHandler } from 'hono'
import { cors } from 'hono/cors'
import type { ResolvedCors } from '../production-options.js'
import { setAnswerHeader } from './response-headers.js'

/**
 * CORS with hono's `cors` for preflights, and the same headers on every other request set with
 * `setAnswerHeader()` before the route. hono's own middleware sets them on `c.res` before the route has
 * answered, which makes hono re-wrap the route's answer around its body stream: +120 us of CPU per
 * request in bench/protection.ts, more than the rest of the middleware together.
 */
export function corsOf(options: ResolvedCors): MiddlewareHandler {
  const { origin, exposeHeaders, credentials } = options
  const preflight = cors({ origin, allowMethods: options.allowMethods, allowHeaders: options.allowHeaders, exposeHeaders, credentials, maxAge: options.maxAgeSec })
  const allowed = (requestOrigin: string): string | undefined => {
    if (origin === '*') return '*'
    if (typeof origin === 'string') return origin === requestOrigin ? requestOrigin : undefined
    return origin.includes(requestOrigin) ? requestOrigin : undefined
  }
  const expose = exposeHeaders.length > 0 ? exposeHeaders.join(',') : undefined
  return async function corsHeaders(c, next) {
    if (c.req.method === 'OPTIONS') return preflight(c, next)
    const allow = allowed(c.req.header('origin') ?? '')
    if (allow !== undefined) setAnswerHeader(c, 'Access-Control-Allow-Origin', allow)
    if (credentials) setAnswerHeader(c, 'Access-Control-Allow-Credentials', 'true')
    if (expose !== undefined) setAnswerHeader(c, 'Access-Control-Expose-Headers', expose)
    // The answer depends on the request's Origin unless every origin is allowed: caches must know.
    if (origin !== '*') setAnswerHeader(c, 'Vary', 'Origin', { append: true })
    await next()
  }
}
