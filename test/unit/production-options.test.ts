import { describe, expect, it } from 'vitest'
import { NexflowError, resolveNexusOptions, type NexusOptions } from '../../src/index.js'

const KEY = 'k'.repeat(24)
const SECRET = 's'.repeat(32)
const cwd = process.cwd()

function failure(options: NexusOptions, env: NodeJS.ProcessEnv = {}): NexflowError {
  try {
    resolveNexusOptions(options, cwd, env)
  } catch (error) {
    if (error instanceof NexflowError) return error
    throw error
  }
  throw new Error('expected CONFIG_INVALID')
}

describe('production options (auth, rate limit, CORS, secure headers, metrics, logs)', () => {
  it('applies the defaults: auth and rate limit off, secure headers and metrics on, a log line per request and run', () => {
    const resolved = resolveNexusOptions({}, cwd, {})
    expect(resolved).toMatchObject({ auth: undefined, rateLimit: undefined, cors: undefined, secureHeaders: {}, metrics: true, log: { requests: true, runs: true } })
  })

  it('NODE_ENV=production without keys refuses, naming what to set', () => {
    const error = failure({}, { NODE_ENV: 'production' })
    expect(error.code).toBe('CONFIG_INVALID')
    expect(error.message).toContain('NODE_ENV=production requires authentication')
    expect(error.message).toContain('NEXFLOW_API_KEYS')
    expect(error.message).toContain('auth: false')
  })

  it('NODE_ENV=production with NEXFLOW_API_KEYS, or with auth: false said on purpose, resolves', () => {
    const keys = resolveNexusOptions({}, cwd, { NODE_ENV: 'production', NEXFLOW_API_KEYS: ` ${KEY} ,${KEY}x,` })
    expect(keys.auth?.apiKeys).toEqual([KEY, `${KEY}x`])
    expect(resolveNexusOptions({ auth: false }, cwd, { NODE_ENV: 'production' }).auth).toBeUndefined()
  })

  it('keys from the options and NEXFLOW_API_KEYS are both accepted', () => {
    expect(resolveNexusOptions({ auth: { apiKeys: [KEY] } }, cwd, { NEXFLOW_API_KEYS: `${KEY}y` }).auth?.apiKeys).toEqual([KEY, `${KEY}y`])
  })

  it('refuses short keys and short HS256 secrets without quoting them', () => {
    const short = failure({ auth: { apiKeys: ['short-key'] } })
    expect(short.message).toContain('`auth.apiKeys[0]`')
    expect(short.message).toContain('at least 16 characters')
    expect(short.message).not.toContain('short-key')
    const secret = failure({ auth: { jwt: { secret: 'too-short-a-secret' } } })
    expect(secret.message).toContain('`auth.jwt.secret`')
    expect(secret.message).toContain('at least 32 bytes')
    expect(secret.message).not.toContain('too-short-a-secret')
    expect(failure({}, { NEXFLOW_API_KEYS: 'tiny' }).message).toContain('Invalid NEXFLOW_API_KEYS: key 1')
  })

  it('a JWT setting names one of secret and jwksUrl; a JWKS URL is https, or http on this machine', () => {
    expect(failure({ auth: { jwt: {} } }).message).toContain('exactly one of secret (HS256) and jwksUrl')
    expect(failure({ auth: { jwt: { secret: SECRET, jwksUrl: 'https://id.example/jwks' } } }).message).toContain('exactly one')
    expect(failure({ auth: { jwt: { jwksUrl: 'http://id.example/jwks' } } }).message).toContain('must be https')
    const jwks = resolveNexusOptions({ auth: { jwt: { jwksUrl: 'http://127.0.0.1:9/jwks', issuer: 'me' } } }, cwd, {})
    expect(jwks.auth?.jwt).toMatchObject({ jwksUrl: 'http://127.0.0.1:9/jwks', issuer: 'me', algorithms: expect.arrayContaining(['RS256', 'ES256']) })
    expect(resolveNexusOptions({ auth: { jwt: { secret: SECRET } } }, cwd, {}).auth?.jwt?.algorithms).toEqual(['HS256'])
  })

  it('names the wrong part of rateLimit, cors, secureHeaders and log', () => {
    expect(failure({ rateLimit: { windowMs: 10, max: 1 } }).message).toContain('`rateLimit.windowMs`')
    expect(failure({ cors: { origin: 'https://app.example/path' } }).message).toContain('`cors.origin`')
    expect(failure({ cors: { origin: '*', credentials: true } }).message).toContain('credentials: true cannot go with origin "*"')
    expect(failure({ secureHeaders: { xFrameOptions: 'DENY', bogus: true } as never }).message).toContain('`secureHeaders.bogus`')
    expect(failure({ log: { format: 'xml' as never } }).message).toContain('`log.format`')
    expect(failure({ auth: { apiKey: [KEY] } as never }).message).toContain('`auth.apiKey`')
    expect(failure({ auth: {} }).message).toContain('names no API key and no JWT setting')
  })

  it('fills in CORS defaults that expose the request id and rate-limit headers', () => {
    const { cors } = resolveNexusOptions({ cors: { origin: ['https://app.example'] } }, cwd, {})
    expect(cors).toMatchObject({ origin: ['https://app.example'], credentials: false, exposeHeaders: expect.arrayContaining(['X-Request-Id', 'Retry-After', 'RateLimit-Remaining']) })
  })
})
