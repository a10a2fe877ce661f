import type { MiddlewareHandler } from 'hono'
import { requestId } from 'hono/request-id'
import { secureHeaders } from 'hono/secure-headers'
import { DASHBOARD_CSP, isDashboardPath } from '../dashboard/paths.js'
import type { SharedHits } from '../durability/durability.js'
import type { NexusMetrics } from '../metrics.js'
import type { ResolvedProductionOptions, SecureHeadersConfig } from '../production-options.js'
import type { ActivityLog } from '../request-log.js'
import { authenticate, Authenticator, enforce, identify } from './auth.js'
import { corsOf } from './cors.js'
import { observeRequests } from './observe.js'
import { createRateLimit } from './rate-limit.js'

/** A request id a client may choose: a short token of `[A-Za-z0-9_=-]` (hono's check); anything else is replaced by a fresh UUID. */
export const MAX_REQUEST_ID_CHARS = 128

/** The middleware every route goes through, in order, and what to stop on close. */
export interface ServerMiddleware {
  readonly handlers: readonly MiddlewareHandler[]
  close(): void
}

/** An API answers no page: nothing of it may be framed, run as a script, or load anything. */
const API_CSP = { defaultSrc: ["'none'"], frameAncestors: ["'none'"] }

function secureHeadersOf(config: SecureHeadersConfig): MiddlewareHandler {
  const { contentSecurityPolicy, ...headers } = config
  const api = secureHeaders({ ...headers, ...(contentSecurityPolicy === false ? {} : { contentSecurityPolicy: contentSecurityPolicy ?? API_CSP }) })
  // A policy the config sets (or drops) applies everywhere; by default the dashboard's page gets
  // the least a page needs: its own script, stylesheet and JSON, from this origin only.
  if (contentSecurityPolicy !== undefined) return api
  const page = secureHeaders({ ...headers, contentSecurityPolicy: DASHBOARD_CSP })
  return function secureHeadersByPath(c, next) {
    return isDashboardPath(c.req.path) ? page(c, next) : api(c, next)
  }
}

/**
 * Builds the middleware from the resolved options, once: request id, timing (metrics and the
 * request's log line), secure headers, CORS (before auth: a preflight carries no credential),
 * then auth and the rate limit. Each part is left out entirely when it is off, so an option
 * that is off costs nothing per request.
 */
export async function createServerMiddleware(
  options: ResolvedProductionOptions,
  sinks: { metrics: NexusMetrics | undefined; log: ActivityLog | undefined; development: boolean; sharedHits?: { hits: SharedHits; warn: (message: string) => void } | undefined },
): Promise<ServerMiddleware> {
  const handlers: MiddlewareHandler[] = [requestId({ limitLength: MAX_REQUEST_ID_CHARS })]
  const closers: (() => void)[] = []
  if (sinks.metrics !== undefined || sinks.log !== undefined) handlers.push(observeRequests(sinks.metrics, sinks.log))
  if (options.secureHeaders !== undefined) handlers.push(secureHeadersOf(options.secureHeaders))
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
