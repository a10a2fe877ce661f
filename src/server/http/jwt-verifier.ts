import { createRemoteJWKSet, errors, jwtVerify, type JWTVerifyGetKey } from 'jose'
import type { ResolvedAuth } from '../production-options.js'
import type { AuthFailure, Principal } from './auth.js'

/** Checks a JWT against the configured secret or key set; answers a principal or why not. */
export type JwtVerifier = (token: string) => Promise<Principal | AuthFailure>

/**
 * The JWT half of auth, in a module of its own: jose is loaded (tens of milliseconds before the
 * port listens) only by a server configured with `auth.jwt`.
 */
export function createJwtVerifier(jwt: NonNullable<ResolvedAuth['jwt']>): JwtVerifier {
  const key: Uint8Array | JWTVerifyGetKey = jwt.secret !== undefined ? new TextEncoder().encode(jwt.secret) : createRemoteJWKSet(new URL(jwt.jwksUrl as string), { timeoutDuration: 5000, cooldownDuration: 30_000 })
  const options: Parameters<typeof jwtVerify>[2] = {
    algorithms: jwt.algorithms,
    clockTolerance: jwt.clockToleranceSec,
    ...(jwt.issuer === undefined ? {} : { issuer: jwt.issuer }),
    ...(jwt.audience === undefined ? {} : { audience: jwt.audience }),
  }
  return async (token) => {
    try {
      const { payload } = typeof key === 'function' ? await jwtVerify(token, key, options) : await jwtVerify(token, key, options)
      const subject = typeof payload.sub === 'string' ? payload.sub.slice(0, 128) : 'anonymous'
      return { kind: 'jwt', id: `jwt:${subject}` }
    } catch (error) {
      if (error instanceof errors.JWTExpired) return { error: 'invalid_token', message: 'The token has expired' }
      if (error instanceof errors.JWKSTimeout || !(error instanceof errors.JOSEError)) {
        return { error: 'invalid_token', message: 'The token cannot be verified now: the key set (auth.jwt.jwksUrl) did not answer; retry later', unavailable: true }
      }
      if (error instanceof errors.JWTClaimValidationFailed) return { error: 'invalid_token', message: `The token is not valid: claim "${error.claim}" ${error.reason === 'check_failed' ? 'does not match' : 'is missing or malformed'}` }
      return { error: 'invalid_token', message: 'The token is not valid' }
    }
  }
}
