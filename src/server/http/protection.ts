import { Hono, type Context, type MiddlewareHandler } from 'hono'
import { secureHeaders } from 'hono/secure-headers'
import { DASHBOARD_CSP, isDashboardPath } from '../dashboard/paths.js'
import type { SharedHits } from '../durability/durability.js'
import type { NexusMetrics } from '../metrics.js'
import type { ResolvedProductionOptions, SecureHeadersConfig } from '../production-options.js'
import type { ActivityLog } from '../request-log.js'
import { authenticate, Authenticator, enforce, identify } from './auth.js'
import { corsOf } from './cors.js'
import { createRateLimit } from './rate-limit.js'
import { requestFrame } from './request-frame.js'

/** The middleware every route goes through, in order, and what to stop on close. */
export interface ServerMiddleware {
  readonly handlers: readonly MiddlewareHandler[]
  close(): void
}

/** An API answers no page: nothing of it may be framed, run as a script, or load anything. */
const API_CSP = { defaultSrc: ["'none'"], frameAncestors: ["'none'"] }

/** The headers hono's `secureHeaders` sets with these options, read off one answer: they depend on nothing in the request. */
async function secureHeadersSet(options: Parameters<typeof secureHeaders>[0]): Promise<Record<string, string>> {
  const probe = new Hono().use(secureHeaders(options)).get('/', (c) => c.body(null, 204))
  const headers: Record<string, string> = {}
  for (const [name, value] of (await probe.request('/')).headers) if (name !== 'content-type' && name !== 'content-length') headers[name] = value
  return headers
}

/**
 * The secure headers for a path. hono's `secureHeaders` decides them (defaults, options, CSP);
 * they are computed once here and set with the request's other headers (see response-headers.ts).
 */
async function secureHeadersOf(config: SecureHeadersConfig): Promise<(c: Context) => Readonly<Record<string, string>>> {
  const { contentSecurityPolicy, ...headers } = config
  const api = await secureHeadersSet({ ...headers, ...(contentSecurityPolicy === false ? {} : { contentSecurityPolicy: contentSecurityPolicy ?? API_CSP }) })
  // A policy the config sets (or drops) applies everywhere; by default the dashboard's page gets
  // the least a page needs: its own script, stylesheet and JSON, from this origin only.
  if (contentSecurityPolicy !== undefined) return () => api
  const page = await secureHeadersSet({ ...headers, contentSecurityPolicy: DASHBOARD_CSP })
  return (c) => (isDashboardPath(c.req.path) ? page : api)
}

/**
 * Builds the middleware from the resolved options, once: the answer's headers (with the secure
 * headers), request id, timing (metrics and the request's log line), CORS (before auth: a
 * preflight carries no credential), then auth and the rate limit. Each part is left out entirely
 * when it is off, so an option that is off costs nothing per request.
 */
export async function createServerMiddleware(
  options: ResolvedProductionOptions,
  sinks: { metrics: NexusMetrics | undefined; log: ActivityLog | undefined; development: boolean; sharedHits?: { hits: SharedHits; warn: (message: string) => void } | undefined },
): Promise<ServerMiddleware> {
  const secure = options.secureHeaders === undefined ? undefined : await secureHeadersOf(options.secureHeaders)
  const handlers: MiddlewareHandler[] = [requestFrame({ fixed: secure, metrics: sinks.metrics, log: sinks.log })]
  const closers: (() => void)[] = []
  if (options.cors !== undefined) handlers.push(corsOf(options.cors))
  const jwt = options.auth?.jwt
  const verifier = jwt === undefined ? undefined : (await import('./jwt-verifier.js')).createJwtVerifier(jwt)
  const authenticator = options.auth === undefined ? undefined : new Authenticator(options.auth, verifier)
  if (options.rateLimit !== undefined) {
    const limiter = createRateLimit(options.rateLimit, sinks.development, sinks.sharedHits)
    closers.push(() => limiter.close())
    if (authenticator !== undefined) handlers.push(identify(authenticator))
    handlers.push(limiter.middleware)
    if (authenticator !== undefined) handlers.push(enforce(sinks.development))
  } else if (authenticator !== undefined) {
    handlers.push(authenticate(authenticator, sinks.development))
  }
  return { handlers, close: () => closers.forEach((close) => close()) }
}
