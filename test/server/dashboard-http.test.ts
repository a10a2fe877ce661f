// The dashboard's routes on a real Nexus: the page, its assets, the CSP it runs under, the option
// that turns it off, and auth (the page is open, the JSON it reads is not).
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Nexus, resolveNexusOptions, type NexusOptions } from '../../src/index.js'

const KEY = 'dashboard-key-0123456789'
const quiet = { info: () => {}, warn: () => {} }

async function serve(options: NexusOptions): Promise<{ app: Nexus; url: string }> {
  const app = new Nexus({ apiPort: 0, autoDiscovery: false, workers: 1, logger: quiet, log: { requests: false, runs: false }, ...options })
  await app.start()
  return { app, url: app.url as string }
}

describe('the dashboard over HTTP', () => {
  let open: { app: Nexus; url: string }
  let secured: { app: Nexus; url: string }

  beforeAll(async () => {
    ;[open, secured] = await Promise.all([serve({}), serve({ auth: { apiKeys: [KEY] } })])
  })

  afterAll(async () => {
    await Promise.all([open?.app.close(), secured?.app.close()])
  })

  it('serves the page at / and /_nexflow/, under a CSP that allows only its own script, style and JSON', async () => {
    for (const path of ['/', '/_nexflow/']) {
      const response = await fetch(`${open.url}${path}`)
      expect(response.status).toBe(200)
      expect(response.headers.get('content-type')).toBe('text/html; charset=utf-8')
      const csp = response.headers.get('content-security-policy') ?? ''
      expect(csp).toContain("script-src 'self'")
      expect(csp).toContain("connect-src 'self'")
      expect(csp).not.toContain('unsafe-inline')
      const html = await response.text()
      expect(html).toContain('<script type="module" src="/_nexflow/app.js"></script>')
      // No inline script: the page's only script is the file.
      expect(html.match(/<script/g)).toHaveLength(1)
    }
    // The API keeps its own, stricter policy.
    expect((await fetch(`${open.url}/workflows`)).headers.get('content-security-policy')).toBe("default-src 'none'; frame-ancestors 'none'")
  })

  it('serves the script as JavaScript (bundled from the sources on first request in a checkout) and the stylesheet as CSS', async () => {
    const script = await fetch(`${open.url}/_nexflow/app.js`)
    expect(script.status).toBe(200)
    expect(script.headers.get('content-type')).toBe('text/javascript; charset=utf-8')
    const text = await script.text()
    expect(text).toContain('nexflow.apiKey')
    expect(text).not.toMatch(/^\s*import\s/m)
    const style = await fetch(`${open.url}/_nexflow/app.css`)
    expect(style.headers.get('content-type')).toBe('text/css; charset=utf-8')
    expect(await style.text()).toContain('--timeout')
  })

  it('serves GET /runs, newest first', async () => {
    const response = await fetch(`${open.url}/runs?limit=5`)
    expect(response.status).toBe(200)
    expect(await response.json()).toEqual({ runs: [], runs_per_minute: 0 })
  })

  it('dashboard is on by default; a value other than a boolean names the option and the fix', () => {
    expect(resolveNexusOptions({}, process.cwd(), {}).dashboard).toBe(true)
    expect(() => resolveNexusOptions({ dashboard: 'yes' as unknown as boolean }, process.cwd(), {})).toThrow(/Invalid Nexus option `dashboard`: got "yes"; expected dashboard: true/)
  })

  it('is off with dashboard: false (404), while the API answers as before', async () => {
    const off = await serve({ dashboard: false })
    try {
      expect((await fetch(`${off.url}/`)).status).toBe(404)
      expect((await fetch(`${off.url}/_nexflow/app.js`)).status).toBe(404)
      expect((await fetch(`${off.url}/workflows`)).status).toBe(200)
    } finally {
      await off.app.close()
    }
  })

  it('with auth on, the page and its assets need no key, and /runs and /discovery do', async () => {
    for (const path of ['/', '/_nexflow/', '/_nexflow/app.css']) expect([path, (await fetch(`${secured.url}${path}`)).status]).toEqual([path, 200])
    for (const path of ['/runs', '/discovery', '/workflows']) expect([path, (await fetch(`${secured.url}${path}`)).status]).toEqual([path, 401])
    expect((await fetch(`${secured.url}/runs`, { headers: { 'x-api-key': KEY } })).status).toBe(200)
    // Only reads are exempt: the page's paths take no other method without a key.
    expect((await fetch(`${secured.url}/`, { method: 'POST' })).status).toBe(401)
  })
})
