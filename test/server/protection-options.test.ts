// Rate limits, JWKS, what each protection option turns off, and the options a server refuses to start with.
import { once } from 'node:events'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey } from 'jose'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { Nexus, NexflowError, WorkflowBuilder, type NexusLogger, type NexusOptions } from '../../src/index.js'

const quiet: NexusLogger = { info: () => {}, warn: () => {} }
const KEY_A = 'rate-key-a-0123456789'
const KEY_B = 'rate-key-b-0123456789'
const greet = new WorkflowBuilder().addNode('Function', 'f', { code: '() => ({ text: "hi" })' })

const started: Nexus[] = []

async function serve(options: NexusOptions): Promise<string> {
  const app = new Nexus({ apiPort: 0, autoDiscovery: false, workers: 1, logger: quiet, ...options })
  app.register('greet', greet)
  started.push(app)
  await app.start()
  return app.url as string
}

afterAll(async () => {
  await Promise.all(started.map((app) => app.close()))
})

describe('headers the middleware sets before the route', () => {
  it('reach the answers a route builds itself: an execute, a stream, the dashboard page, MCP', async () => {
    // The rate limiter sets its headers with hono's c.header(): the case where the server routes those into its own.
    const url = await serve({ rateLimit: { windowMs: 60_000, max: 50 }, dashboard: true, cors: { origin: 'https://app.example' } })
    const answers = {
      execute: await fetch(`${url}/workflows/greet/execute`, { method: 'POST', headers: { 'x-request-id': 'hdr-run-1', origin: 'https://app.example' }, body: '{}' }),
      stream: await fetch(`${url}/workflows/greet/execute`, { method: 'POST', headers: { 'x-request-id': 'hdr-stream-1', origin: 'https://app.example' }, body: '{"mode":"stream"}' }),
      page: await fetch(`${url}/`, { headers: { 'x-request-id': 'hdr-page-1', origin: 'https://app.example' } }),
      mcp: await fetch(`${url}/mcp`, { method: 'POST', headers: { 'x-request-id': 'hdr-mcp-1', 'content-type': 'application/json', origin: 'https://app.example' }, body: '{}' }),
    }
    expect(answers.execute.status).toBe(200)
    expect(answers.stream.status).toBe(200)
    expect(answers.stream.headers.get('x-accel-buffering')).toBe('no')
    expect(await answers.stream.text()).toMatch(/event: result/)
    expect(answers.page.status).toBe(200)
    for (const [name, answer] of Object.entries(answers)) {
      expect([name, answer.headers.get('x-request-id')]).toEqual([name, `hdr-${name === 'execute' ? 'run' : name}-1`])
      expect([name, answer.headers.get('access-control-allow-origin'), answer.headers.get('vary')]).toEqual([name, 'https://app.example', expect.stringMatching(/Origin/i)])
      // The dashboard's page and assets are exempt from the limit, as /health is.
      expect([name, answer.headers.get('ratelimit-limit')]).toEqual([name, name === 'page' ? null : '50'])
      expect([name, answer.headers.get('x-content-type-options')]).toEqual([name, 'nosniff'])
    }
  })
})

describe('rate limits', () => {
  let url: string
  beforeAll(async () => {
    url = await serve({ auth: { apiKeys: [KEY_A, KEY_B] }, rateLimit: { windowMs: 60_000, max: 3 } })
  })

  const list = (key?: string) => fetch(`${url}/workflows`, { headers: key === undefined ? {} : { 'x-api-key': key } })

  it('the request over the limit is 429 with Retry-After, RateLimit-* headers and the house error body', async () => {
    const answers = []
    for (let i = 0; i < 3; i++) answers.push(await list(KEY_A))
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200])
    expect(answers.map((a) => a.headers.get('ratelimit-remaining'))).toEqual(['2', '1', '0'])
    expect(answers[0]?.headers.get('ratelimit-limit')).toBe('3')
    expect(answers[0]?.headers.get('ratelimit-policy')).toBe('3;w=60')
    const over = await list(KEY_A)
    expect(over.status).toBe(429)
    const retryAfter = Number(over.headers.get('retry-after'))
    expect(retryAfter).toBeGreaterThan(0)
    expect(retryAfter).toBeLessThanOrEqual(60)
    expect(over.headers.get('ratelimit-remaining')).toBe('0')
    expect(Number(over.headers.get('ratelimit-reset'))).toBeGreaterThan(0)
    expect(await over.json()).toEqual({ error: { code: 'RATE_LIMITED', message: expect.stringContaining('at most 3 per 60 s'), details: { limit: 3, window_s: 60 } } })
  })

  it('each key has its own budget, and the unauthenticated are counted by address (guessing keys is limited too)', async () => {
    expect((await list(KEY_B)).status).toBe(200)
    const guesses = []
    for (let i = 0; i < 4; i++) guesses.push((await list(`wrong-guess-${i}-0123456789`)).status)
    expect(guesses).toEqual([401, 401, 401, 429])
    expect((await list(KEY_B)).status).toBe(200)
  })

  it('/health and /ready are never limited', async () => {
    for (let i = 0; i < 6; i++) expect((await fetch(`${url}/health`)).status).toBe(200)
    expect((await fetch(`${url}/health`)).headers.get('ratelimit-limit')).toBeNull()
  })
})

describe('JWTs verified with a JWKS', () => {
  let jwks: Server
  let privateKey: CryptoKey
  let url: string

  beforeAll(async () => {
    const pair = await generateKeyPair('RS256')
    privateKey = pair.privateKey
    const jwk = { ...(await exportJWK(pair.publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' }
    jwks = createServer((_request, response) => response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [jwk] })))
    jwks.listen(0, '127.0.0.1')
    await once(jwks, 'listening')
    url = await serve({ auth: { jwt: { jwksUrl: `http://127.0.0.1:${(jwks.address() as AddressInfo).port}/jwks`, audience: 'nexflow' } } })
  })

  afterAll(() => {
    jwks?.close()
  })

  const sign = (key: CryptoKey, audience = 'nexflow') => new SignJWT({ sub: 'svc-1' }).setProtectedHeader({ alg: 'RS256', kid: 'k1' }).setAudience(audience).setExpirationTime('5m').sign(key)

  it('a token signed by the published key passes; another key or audience is 401', async () => {
    const ok = await fetch(`${url}/workflows`, { headers: { authorization: `Bearer ${await sign(privateKey)}` } })
    expect(ok.status).toBe(200)
    const other = await generateKeyPair('RS256')
    expect((await fetch(`${url}/workflows`, { headers: { authorization: `Bearer ${await sign(other.privateKey)}` } })).status).toBe(401)
    expect((await fetch(`${url}/workflows`, { headers: { authorization: `Bearer ${await sign(privateKey, 'someone-else')}` } })).status).toBe(401)
  })

  it('a key set that cannot be reached is 503 AUTH_UNAVAILABLE, not a 401 blaming the caller', async () => {
    const closed = createServer()
    closed.listen(0, '127.0.0.1')
    await once(closed, 'listening')
    const port = (closed.address() as AddressInfo).port
    closed.close()
    await once(closed, 'close')
    const unreachable = await serve({ auth: { jwt: { jwksUrl: `http://127.0.0.1:${port}/jwks` } } })
    const answer = await fetch(`${unreachable}/workflows`, { headers: { authorization: `Bearer ${await sign(privateKey)}` } })
    expect(answer.status).toBe(503)
    expect(answer.headers.get('retry-after')).toBe('30')
    expect(((await answer.json()) as { error: { code: string } }).error.code).toBe('AUTH_UNAVAILABLE')
  })
})

describe('protections turned off', () => {
  it('secureHeaders: false sends none; metrics: false has no /metrics; auth off leaves every route open', async () => {
    const url = await serve({ secureHeaders: false, metrics: false })
    const health = await fetch(`${url}/health`)
    expect(health.headers.get('x-content-type-options')).toBeNull()
    expect(health.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/)
    expect((await fetch(`${url}/metrics`)).status).toBe(404)
    expect((await fetch(`${url}/workflows`)).status).toBe(200)
  })

  it('secure headers can be adjusted: one replaced, one dropped', async () => {
    const url = await serve({ secureHeaders: { xFrameOptions: 'DENY', strictTransportSecurity: false } })
    const health = await fetch(`${url}/health`)
    expect(health.headers.get('x-frame-options')).toBe('DENY')
    expect(health.headers.get('strict-transport-security')).toBeNull()
    expect(health.headers.get('x-content-type-options')).toBe('nosniff')
  })

  it('two servers in one process keep their own metrics', async () => {
    const [one, two] = await Promise.all([serve({}), serve({})])
    for (let i = 0; i < 3; i++) await fetch(`${one}/health`)
    const count = async (base: string) => /nexflow_http_requests_total\{method="GET",route="\/health",status="200"\} (\d+)/.exec(await (await fetch(`${base}/metrics`)).text())?.[1]
    expect(await count(one)).toBe('3')
    expect(await count(two)).toBeUndefined()
  })
})

describe('options a server refuses to start with', () => {
  const env = { ...process.env }
  afterEach(() => {
    process.env = { ...env }
  })

  const refusal = (options: NexusOptions): NexflowError => {
    try {
      new Nexus({ apiPort: 0, autoDiscovery: false, logger: quiet, ...options })
    } catch (error) {
      if (error instanceof NexflowError) return error
      throw error
    }
    throw new Error('the server was created')
  }

  it('an HS256 secret shorter than 32 bytes', () => {
    const error = refusal({ auth: { jwt: { secret: 'thirty-one-bytes-is-not-enough!' } } })
    expect(error.code).toBe('CONFIG_INVALID')
    expect(error.message).toContain('at least 32 bytes')
  })

  it('NODE_ENV=production without keys, naming what to set; with NEXFLOW_API_KEYS it starts with auth on', async () => {
    process.env.NODE_ENV = 'production'
    delete process.env.NEXFLOW_API_KEYS
    expect(refusal({}).message).toMatch(/NODE_ENV=production requires authentication.*NEXFLOW_API_KEYS/)
    process.env.NEXFLOW_API_KEYS = KEY_A
    const url = await serve({})
    expect((await fetch(`${url}/workflows`)).status).toBe(401)
    expect((await fetch(`${url}/workflows`, { headers: { 'x-api-key': KEY_A } })).status).toBe(200)
  })
})
