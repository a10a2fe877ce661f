import { afterAll, describe, expect, it } from 'vitest'
import { COMMON_FLAGS, killAll, SERVER_FIXTURES, SLOW_MS, startNexflow } from './server-helpers.js'

// `nexflow start` in production: it refuses to start without keys, and with NEXFLOW_API_KEYS and a
// config file's rate limit it protects every route and logs each request as JSON.
const KEY = 'e2e-key-0123456789abcdef'
const ROOT = `${SERVER_FIXTURES}/protection`

afterAll(killAll)

describe('nexflow start with NODE_ENV=production', () => {
  it('without API keys it refuses to start, exit 2, naming what to set', async () => {
    const server = startNexflow([ROOT, ...COMMON_FLAGS], { env: { NODE_ENV: 'production', NEXFLOW_API_KEYS: undefined } })
    const exit = await server.exit()
    expect(exit.code, server.output).toBe(2)
    expect(server.stderr).toMatch(/^nexflow start: NODE_ENV=production requires authentication and none is configured: set NEXFLOW_API_KEYS=/m)
    expect(server.stdout).not.toContain('listening')
  })

  it(
    'with NEXFLOW_API_KEYS and the config file: 401 without the key, 429 over the rate limit, one JSON line per request with its id',
    async () => {
      const server = startNexflow([ROOT, ...COMMON_FLAGS], { env: { NODE_ENV: 'production', NEXFLOW_API_KEYS: `${KEY},another-key-0123456789` } })
      const url = await server.listening()
      expect((await fetch(`${url}/health`)).status).toBe(200)
      const anonymous = await fetch(`${url}/workflows`)
      expect(anonymous.status).toBe(401)
      expect(anonymous.headers.get('www-authenticate')).toBe('Bearer realm="nexflow"')
      const statuses = []
      for (let i = 0; i < 3; i++) statuses.push((await fetch(`${url}/workflows`, { headers: { 'x-api-key': KEY, 'x-request-id': `e2e-${i}` } })).status)
      expect(statuses).toEqual([200, 200, 429])
      const last = await fetch(`${url}/openapi.json`, { headers: { 'x-api-key': KEY } })
      expect(last.headers.get('x-frame-options')).toBe('DENY')
      expect(Number(last.headers.get('retry-after'))).toBeGreaterThan(0)
      // Its stdout is a pipe: the lines are JSON.
      const line = await server.waitFor('stdout', /^\{.*"request_id":"e2e-2".*\}$/m)
      expect(JSON.parse(line[0])).toMatchObject({ msg: 'request', method: 'GET', route: '/workflows', status: 429, client: expect.stringMatching(/^key:/) })
      expect(server.stdout).not.toContain(KEY)
      expect((await server.stop()).code).toBe(0)
    },
    SLOW_MS,
  )
})
