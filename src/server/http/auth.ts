import { createHash, timingSafeEqual } from 'node:crypto'
import type { Context, MiddlewareHandler } from 'hono'
import { NexflowError } from '../../errors.js'
import { isDashboardPath } from '../dashboard/paths.js'
import type { ResolvedAuth } from '../production-options.js'
import { errorResponse } from './errors.js'
import type { JwtVerifier } from './jwt-verifier.js'

/** Who a request comes from, once authenticated. `id` names the client without its secret. */
export interface Principal {
  kind: 'api-key' | 'jwt'
  /** `key:<8 hex of the key's SHA-256>` or `jwt:<sub>`: for rate limits and logs. */
  id: string
}

/** Why a request is not authenticated: RFC 6750's `error`, and what to tell the caller. */
export interface AuthFailure {
  error: 'missing' | 'invalid_token'
  message: string
  /** The verifier itself failed (the JWKS endpoint is down): not the caller's fault. */
  unavailable?: boolean
}

declare module 'hono' {
  interface ContextVariableMap {
    /** Set by auth on an authenticated request. */
    principal: Principal | undefined
    authFailure: AuthFailure | undefined
  }
}

/** Longer credentials are refused unread: no key or token of ours is this long. */
const MAX_CREDENTIAL_CHARS = 8192
const REALM = 'Bearer realm="nexflow"'
const JWT_SHAPE = /^[\w-]+\.[\w-]+\.[\w-]*$/

/**
 * `/health` and `/ready` answer load balancers and orchestrators, which hold no key. The
 * dashboard's page and assets hold no data: the page asks for the key and sends it on every call.
 */
export function isExempt(c: Context): boolean {
  const path = c.req.path
  return path === '/health' || path === '/ready' || (c.req.method === 'GET' && isDashboardPath(path))
}

const digest = (text: string) => createHash('sha256').update(text, 'utf8').digest()

/**
 * Checks API keys and JWTs. Everything that can be prepared is prepared once, here: the digests
 * of the keys and their ids (the JWT key, in its verifier). Per request: one SHA-256 of the presented credential
 * and one comparison per key, or one JWT verification.
 */
export class Authenticator {
  readonly #digests: Buffer[]
  readonly #ids: string[]
  readonly #jwt: JwtVerifier | undefined

  /** `jwt`: from `createJwtVerifier` (jwt-verifier.ts) when `auth.jwt` is configured. */
  constructor(auth: ResolvedAuth, jwt?: JwtVerifier) {
    // Fixed-length digests: timingSafeEqual needs equal lengths, and a key's length leaks nothing.
    this.#digests = auth.apiKeys.map(digest)
    this.#ids = this.#digests.map((d) => `key:${d.toString('hex').slice(0, 8)}`)
    this.#jwt = jwt
  }

  /** The request's principal, or why there is none. */
  async check(c: Context): Promise<Principal | AuthFailure> {
    const credential = c.req.header('x-api-key') ?? bearer(c.req.header('authorization'))
    if (credential === undefined || credential === '') return { error: 'missing', message: 'Authentication required: send an API key in X-API-Key or Authorization: Bearer <key>, or a JWT in Authorization: Bearer <token>' }
    if (credential.length > MAX_CREDENTIAL_CHARS) return { error: 'invalid_token', message: 'The credential is not valid' }
    const key = this.#matchKey(credential)
    if (key !== undefined) return key
    if (this.#jwt !== undefined && JWT_SHAPE.test(credential)) return this.#jwt(credential)
    return { error: 'invalid_token', message: this.#jwt === undefined ? 'The API key is not valid' : 'The API key or token is not valid' }
  }

  #matchKey(credential: string): Principal | undefined {
    if (this.#digests.length === 0) return undefined
    const presented = digest(credential)
    let match = -1
    // Every key is compared, a match or not: the time taken does not tell which key matched.
    for (let i = 0; i < this.#digests.length; i++) if (timingSafeEqual(presented, this.#digests[i] as Buffer)) match = i
    return match === -1 ? undefined : { kind: 'api-key', id: this.#ids[match] as string }
  }
}

function bearer(header: string | undefined): string | undefined {
  if (header === undefined) return undefined
  // The scheme is case-insensitive (RFC 7235).
  if (header.length < 7 || header.slice(0, 7).toLowerCase() !== 'bearer ') return ''
  return header.slice(7).trim()
}

/** 401 with `WWW-Authenticate` (RFC 6750) and the house error body; 503 when the verifier is down. */
export function rejectRequest(c: Context, failure: AuthFailure, development: boolean): Response {
  const error = failure.unavailable === true ? new NexflowError('AUTH_UNAVAILABLE', failure.message) : new NexflowError('UNAUTHORIZED', failure.message)
  const { status, body } = errorResponse(error, development)
  const challenge = failure.error === 'missing' ? REALM : `${REALM}, error="invalid_token", error_description="${failure.message.replace(/["\\]/g, '')}"`
  return c.json(body, status as 401, failure.unavailable === true ? { 'Retry-After': '30' } : { 'WWW-Authenticate': challenge })
}

const isPrincipal = (result: Principal | AuthFailure): result is Principal => 'kind' in result

/**
 * Auth in one step: a request without a valid credential is answered 401 here. Used when there is
 * no rate limit between identifying and refusing.
 */
export function authenticate(authenticator: Authenticator, development: boolean): MiddlewareHandler {
  return async function authenticate(c, next) {
    if (isExempt(c)) return next()
    const result = await authenticator.check(c)
    if (!isPrincipal(result)) return rejectRequest(c, result, development)
    c.set('principal', result)
    return next()
  }
}

/**
 * Auth in two steps around a rate limit: `identify` notes who the client is (or why it is not
 * known), the limiter counts the request against that client (the IP for the unauthenticated, so
 * guessing keys is limited too), and `enforce` refuses the unauthenticated.
 */
export function identify(authenticator: Authenticator): MiddlewareHandler {
  return async function identify(c, next) {
    if (isExempt(c)) return next()
    const result = await authenticator.check(c)
    if (isPrincipal(result)) c.set('principal', result)
    else c.set('authFailure', result)
    return next()
  }
}

export function enforce(development: boolean): MiddlewareHandler {
  return async function enforce(c, next) {
    const failure = c.get('authFailure')
    if (failure !== undefined) return rejectRequest(c, failure, development)
    return next()
  }
}
