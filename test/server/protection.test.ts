// Auth, request ids, secure headers, CORS, logs and metrics of a real Nexus over real HTTP.
import { connect } from 'node:net'
import { SignJWT } from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Nexus, type NexusLogger } from '../../src/index.js'
import { metricValue, parseMetrics } from './prometheus.js'

const KEY_A = 'key-a-0123456789abcdef'
const KEY_B = 'key-b-0123456789abcdef'
const SECRET = 'a-secret-of-at-least-thirty-two-bytes!'
const ROOT = new URL('../../fixtures/protection', import.meta.url).pathname

const lines: string[] = []
const logger: NexusLogger = { info: (line) => lines.push(line), warn: () => {} }
let app: Nexus
let url: string

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = Record<string, any>

/** The JSON log lines with `msg`. */
const logged = (msg: string): Json[] =>
  lines
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Json)
    .filter((entry) => entry.msg === msg)

function token(claims: Record<string, unknown>, options: { secret?: string; expiresIn?: string | number; issuer?: string } = {}): Promise<string> {
  const jwt = new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).setIssuedAt().setIssuer(options.issuer ?? 'nexflow-tests')
  jwt.setExpirationTime(options.expiresIn ?? '5m')
  return jwt.sign(new TextEncoder().encode(options.secret ?? SECRET))
}

async function get(path: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: Headers; json: Json }> {
  const response = await fetch(`${url}${path}`, { headers })
  const text = await response.text()
  return { status: response.status, headers: response.headers, json: text.startsWith('{') ? (JSON.parse(text) as Json) : { text } }
}

/** One raw HTTP/1.1 request, for what fetch refuses to send; resolves with the status line's code. */
function rawRequest(head: string): Promise<number> {
  const { hostname, port } = new URL(url)
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname, () => socket.write(head))
    let answer = ''
    socket.setEncoding('latin1')
    socket.on('data', (chunk: string) => {
      answer += chunk
      const status = /^HTTP\/1\.1 (\d{3})/.exec(answer)
      if (status !== null) {
        socket.destroy()
        resolve(Number(status[1]))
      }
    })
    socket.on('error', reject)
    socket.on('close', () => reject(new Error(`the connection closed without a status line: ${JSON.stringify(answer)}`)))
  })
}

beforeAll(async () => {
  app = new Nexus({
    apiPort: 0,
    root: ROOT,
    autoDiscovery: { cache: false },
    workers: 1,
    logger,
    auth: { apiKeys: [KEY_A, KEY_B], jwt: { secret: SECRET, issuer: 'nexflow-tests' } },
    cors: { origin: ['https://app.example'] },
    log: { format: 'json' },
  })
  await app.start()
  url = app.url as string
  await app.ready()
})

afterAll(async () => {
  await app?.close()
})

describe('auth: API keys and JWTs', () => {
  it('a request without a credential is 401 with WWW-Authenticate and the house error body', async () => {
    const { status, headers, json } = await get('/workflows')
    expect(status).toBe(401)
    expect(headers.get('www-authenticate')).toBe('Bearer realm="nexflow"')
    expect(json).toEqual({ error: { code: 'UNAUTHORIZED', message: expect.stringContaining('X-API-Key') } })
  })

  it('a wrong key is 401 invalid_token; a right key passes in X-API-Key and in Authorization: Bearer', async () => {
    const wrong = await get('/workflows', { 'x-api-key': 'not-the-key-0123456789' })
    expect(wrong.status).toBe(401)
    expect(wrong.headers.get('www-authenticate')).toMatch(/^Bearer realm="nexflow", error="invalid_token"/)
    expect(wrong.json.error.code).toBe('UNAUTHORIZED')
    expect((await get('/workflows', { 'x-api-key': KEY_A })).status).toBe(200)
    expect((await get('/workflows', { authorization: `Bearer ${KEY_B}` })).status).toBe(200)
    expect((await get('/workflows', { authorization: `bearer ${KEY_B}` })).status).toBe(200)
    // A key that differs only in its last character, and a prefix of a key, are as wrong as any.
    expect((await get('/workflows', { 'x-api-key': `${KEY_A.slice(0, -1)}x` })).status).toBe(401)
    expect((await get('/workflows', { 'x-api-key': KEY_A.slice(0, 10) })).status).toBe(401)
    expect((await get('/workflows', { authorization: `Basic ${Buffer.from(`u:${KEY_A}`).toString('base64')}` })).status).toBe(401)
  })

  it('a valid HS256 JWT passes; an expired one, one signed with another secret, or from another issuer is 401', async () => {
    expect((await get('/workflows', { authorization: `Bearer ${await token({ sub: 'ada' })}` })).status).toBe(200)
    const expired = await get('/workflows', { authorization: `Bearer ${await token({ sub: 'ada' }, { expiresIn: Math.floor(Date.now() / 1000) - 60 })}` })
    expect(expired.status).toBe(401)
    expect(expired.json.error.message).toBe('The token has expired')
    expect(expired.headers.get('www-authenticate')).toContain('error="invalid_token"')
    const forged = await get('/workflows', { authorization: `Bearer ${await token({ sub: 'ada' }, { secret: 'another-secret-of-thirty-two-bytes!!' })}` })
    expect(forged.status).toBe(401)
    const issuer = await get('/workflows', { authorization: `Bearer ${await token({ sub: 'ada' }, { issuer: 'someone-else' })}` })
    expect(issuer.status).toBe(401)
    expect(issuer.json.error.message).toContain('claim "iss"')
    // alg=none is never accepted.
    const unsigned = `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from('{"sub":"ada","iss":"nexflow-tests"}').toString('base64url')}.`
    expect((await get('/workflows', { authorization: `Bearer ${unsigned}` })).status).toBe(401)
  })

  it('/health and /ready are exempt; /metrics, /events, /mcp, /discovery and /openapi.json are not', async () => {
    expect((await get('/health')).status).toBe(200)
    expect((await get('/ready')).status).toBe(200)
    for (const path of ['/metrics', '/events', '/discovery', '/openapi.json']) expect([path, (await get(path)).status]).toEqual([path, 401])
    const mcp = await fetch(`${url}/mcp`, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' }, body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: {} }) })
    expect(mcp.status).toBe(401)
    const run = await fetch(`${url}/workflows/greet/execute`, { method: 'POST', body: JSON.stringify({ inputs: { name: 'x' } }) })
    expect(run.status).toBe(401)
    // With a key, the event stream opens.
    const controller = new AbortController()
    const events = await fetch(`${url}/events`, { headers: { 'x-api-key': KEY_A }, signal: controller.signal })
    expect(events.status).toBe(200)
    expect(events.headers.get('content-type')).toContain('text/event-stream')
    controller.abort()
  })

  it('a huge Authorization header is refused without harm, and the server keeps answering', async () => {
    const long = await get('/workflows', { authorization: `Bearer ${'x'.repeat(12_000)}` })
    expect(long.status).toBe(401)
    expect(long.json.error.message).toBe('The credential is not valid')
    // Past Node's header limit (16 KiB) the HTTP parser itself answers 431, before any of our code.
    const huge = await fetch(`${url}/workflows`, { headers: { authorization: `Bearer ${'x'.repeat(64_000)}` } }).then(
      (response) => response.status,
      () => 'connection closed',
    )
    expect([431, 'connection closed']).toContain(huge)
    expect((await get('/health')).status).toBe(200)
  })
})

describe('request ids', () => {
  it('a safe X-Request-Id is echoed; one is generated when absent', async () => {
    expect((await get('/health', { 'x-request-id': 'trace-42_A=' })).headers.get('x-request-id')).toBe('trace-42_A=')
    expect((await get('/health')).headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/)
  })

  it('an unsafe or overlong X-Request-Id is replaced, never echoed', async () => {
    for (const hostile of ['a b', '<script>', 'x'.repeat(129), 'x'.repeat(4000), 'id;rm -rf', '"quoted"', '../etc', '${jndi:x}']) {
      const echoed = (await get('/health', { 'x-request-id': hostile })).headers.get('x-request-id')
      expect([hostile.slice(0, 20), echoed]).toEqual([hostile.slice(0, 20), expect.stringMatching(/^[0-9a-f-]{36}$/)])
    }
    expect((await get('/health', { 'x-request-id': 'y'.repeat(128) })).headers.get('x-request-id')).toBe('y'.repeat(128))
  })

  it('a CR or LF in X-Request-Id never reaches the app: the HTTP parser refuses it, and the server keeps answering', async () => {
    const status = await rawRequest('GET /health HTTP/1.1\r\nHost: x\r\nX-Request-Id: abc\rInjected: 1\r\nConnection: close\r\n\r\n')
    expect(status).toBe(400)
    const before = lines.length
    expect((await get('/health')).status).toBe(200)
    expect(lines.slice(before).some((line) => line.includes('Injected'))).toBe(false)
  })

  it("the request id is in the request's log line and in its run's log line, with the run id", async () => {
    const response = await fetch(`${url}/workflows/greet/execute`, { method: 'POST', headers: { 'x-api-key': KEY_A, 'x-request-id': 'req-run-1' }, body: JSON.stringify({ inputs: { name: 'Ada' } }) })
    expect(response.status).toBe(200)
    expect(response.headers.get('x-request-id')).toBe('req-run-1')
    const body = (await response.json()) as Json
    const run = logged('run').find((entry) => entry.request_id === 'req-run-1')
    expect(run).toMatchObject({ run_id: body.run_id, workflow: 'greet', outcome: 'completed', duration_ms: expect.any(Number), level: 'info', time: expect.any(Number) })
    const request = logged('request').find((entry) => entry.request_id === 'req-run-1')
    expect(request).toMatchObject({ method: 'POST', path: '/workflows/greet/execute', route: '/workflows/:name/execute', status: 200, client: expect.stringMatching(/^key:[0-9a-f]{8}$/) })
    // The key itself is never logged.
    expect(lines.some((line) => line.includes(KEY_A))).toBe(false)
  })
})

describe('secure headers and CORS', () => {
  it('every answer carries the secure headers and its request id once, 401s, 404s and runs included', async () => {
    const answers = [
      await get('/health'),
      await get('/workflows'),
      await get('/no/such/route', { 'x-api-key': KEY_A }),
      await fetch(`${url}/workflows/greet/execute`, { method: 'POST', headers: { 'x-api-key': KEY_A, 'x-request-id': 'once-1' }, body: JSON.stringify({ inputs: { name: 'Ada' } }) }),
    ]
    expect(answers.map((a) => a.status)).toEqual([200, 401, 404, 200])
    for (const { headers } of answers) {
      expect(headers.get('x-content-type-options')).toBe('nosniff')
      expect(headers.get('strict-transport-security')).toContain('max-age=')
      expect(headers.get('content-security-policy')).toBe("default-src 'none'; frame-ancestors 'none'")
      expect(headers.get('referrer-policy')).toBe('no-referrer')
      // One value each: a header given twice would be joined with a comma.
      expect(headers.get('x-request-id')).toMatch(/^[\w=-]+$/)
      expect(headers.get('content-type')).toMatch(/^application\/json(; charset=utf-8)?$/i)
    }
    expect(answers[3]?.headers.get('x-request-id')).toBe('once-1')
  })

  it('a preflight from an allowed origin is answered without a credential; another origin gets no allow-origin', async () => {
    const preflight = await fetch(`${url}/workflows/greet/execute`, { method: 'OPTIONS', headers: { origin: 'https://app.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'x-api-key, content-type' } })
    expect(preflight.status).toBe(204)
    expect(preflight.headers.get('access-control-allow-origin')).toBe('https://app.example')
    expect(preflight.headers.get('access-control-allow-methods')).toContain('POST')
    expect(preflight.headers.get('access-control-allow-headers')?.toLowerCase()).toContain('x-api-key')
    const other = await fetch(`${url}/workflows`, { method: 'OPTIONS', headers: { origin: 'https://evil.example', 'access-control-request-method': 'GET' } })
    expect(other.headers.get('access-control-allow-origin')).toBeNull()
    const actual = await get('/workflows', { origin: 'https://app.example', 'x-api-key': KEY_A })
    expect(actual.headers.get('access-control-allow-origin')).toBe('https://app.example')
    expect(actual.headers.get('access-control-expose-headers')).toContain('X-Request-Id')
    expect(actual.headers.get('vary')).toMatch(/\bOrigin\b/)
    // An execute's answer, and an error's, carry them too; another origin's answer does not.
    const run = await fetch(`${url}/workflows/greet/execute`, { method: 'POST', headers: { origin: 'https://app.example', 'x-api-key': KEY_A }, body: JSON.stringify({ inputs: { name: 'Ada' } }) })
    expect([run.status, run.headers.get('access-control-allow-origin'), run.headers.get('vary')]).toEqual([200, 'https://app.example', expect.stringMatching(/\bOrigin\b/)])
    const refused = await fetch(`${url}/workflows/greet/execute`, { method: 'POST', headers: { origin: 'https://app.example' }, body: '{}' })
    expect([refused.status, refused.headers.get('access-control-allow-origin')]).toEqual([401, 'https://app.example'])
    const foreign = await get('/workflows', { origin: 'https://evil.example', 'x-api-key': KEY_A })
    expect([foreign.status, foreign.headers.get('access-control-allow-origin'), foreign.headers.get('vary')]).toEqual([200, null, expect.stringMatching(/\bOrigin\b/)])
  })
})

describe('GET /metrics', () => {
  it('counts requests by route pattern and status, runs by workflow and outcome, and reads the pool and discovery', async () => {
    const auth = { 'x-api-key': KEY_B, 'content-type': 'application/json' }
    const before = parseMetrics((await (await fetch(`${url}/metrics`, { headers: auth })).text()))
    const okBefore = metricValue(before, 'nexflow_runs_total', { workflow: 'greet', outcome: 'completed' }) ?? 0
    for (const name of ['Ada', 'Grace']) expect((await fetch(`${url}/workflows/greet/execute`, { method: 'POST', headers: auth, body: JSON.stringify({ inputs: { name } }) })).status).toBe(200)
    expect((await fetch(`${url}/workflows/fails/execute`, { method: 'POST', headers: auth, body: '{}' })).status).toBe(500)
    expect((await get('/no/such/route', { 'x-api-key': KEY_B })).status).toBe(404)
    expect((await get('/workflows')).status).toBe(401)

    const response = await fetch(`${url}/metrics`, { headers: auth })
    expect(response.status).toBe(200)
    expect(response.headers.get('content-type')).toContain('text/plain; version=0.0.4')
    const after = parseMetrics(await response.text())
    const requests = (labels: Record<string, string>) => metricValue(after, 'nexflow_http_requests_total', labels) ?? 0
    expect(requests({ method: 'POST', route: '/workflows/:name/execute', status: '200' })).toBeGreaterThanOrEqual(2)
    expect(requests({ method: 'POST', route: '/workflows/:name/execute', status: '500' })).toBeGreaterThanOrEqual(1)
    expect(requests({ method: 'GET', route: '/workflows', status: '401' })).toBeGreaterThanOrEqual(1)
    expect(requests({ method: 'GET', route: 'unmatched', status: '404' })).toBeGreaterThanOrEqual(1)
    // Raw paths never become labels.
    expect([...after.keys()].some((key) => key.includes('/no/such/route') || key.includes('greet/execute'))).toBe(false)
    expect(metricValue(after, 'nexflow_http_request_duration_seconds_count', { method: 'POST', route: '/workflows/:name/execute', status: '200' })).toBeGreaterThanOrEqual(2)
    expect(metricValue(after, 'nexflow_runs_total', { workflow: 'greet', outcome: 'completed' })).toBe(okBefore + 2)
    expect(metricValue(after, 'nexflow_runs_total', { workflow: 'fails', outcome: 'failed' })).toBeGreaterThanOrEqual(1)
    expect(metricValue(after, 'nexflow_run_duration_seconds_count', { workflow: 'greet', outcome: 'completed' })).toBe(okBefore + 2)
    expect(metricValue(after, 'nexflow_pool_threads', {})).toBe(1)
    expect(metricValue(after, 'nexflow_pool_busy_threads', {})).toBe(0)
    expect(metricValue(after, 'nexflow_pool_queued_runs', {})).toBe(0)
    expect(metricValue(after, 'nexflow_pool_abandoned_workers', {})).toBe(0)
    expect(metricValue(after, 'nexflow_discovery_files', { status: 'ok' })).toBe(2)
    expect(metricValue(after, 'nexflow_discovery_files', { status: 'error' })).toBe(1)
    expect(metricValue(after, 'nexflow_discovery_duration_seconds', {})).toBeGreaterThan(0)
    expect(metricValue(after, 'nexflow_workflows_served', {})).toBe(2)
    const failed = logged('run').find((entry) => entry.workflow === 'fails')
    expect(failed).toMatchObject({ outcome: 'failed', error_code: 'WORKFLOW_EXECUTION_FAILED', level: 'warn' })
  })
})
