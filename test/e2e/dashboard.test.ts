// The dashboard in real headless Chromium (Debian's `chromium`, driven by playwright-core) against
// `nexflow start` on fixtures/dashboard: a healthy file, a hanging one, a throwing one. One browser
// and one page for the whole file; every wait is on the page's state, never a pause. Each test
// saves a screenshot under test/.output/dashboard/.
import { existsSync, mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { chromium, type Browser, type Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { COMMON_FLAGS, killAll, REPO, SLOW_MS, startNexflow, WAIT_MS, type NexflowProcess } from './server-helpers.js'

const CHROMIUM = '/usr/bin/chromium'
const FIXTURE = join(REPO, 'fixtures', 'dashboard')
const OUTPUT = join(REPO, 'test', '.output', 'dashboard')
/** The hanging file's deadline: short, so the test waits little for its bar to end. */
const DEADLINE_MS = 1500
const KEY = 'dashboard-test-key'

const hasChromium = existsSync(CHROMIUM)
if (!hasChromium) console.warn(`dashboard browser tests skipped: ${CHROMIUM} is missing (apt-get install chromium; .ci/run installs it)`)

afterAll(killAll)

// Page globals the callbacks below use once they run in the browser (the tests are type-checked without the DOM's types).
declare const getComputedStyle: (element: unknown) => { backgroundColor: string }
declare const sessionStorage: { getItem(key: string): string | null }
declare const document: { querySelector(selector: string): PageElement | null }
interface PageElement {
  getAttribute(name: string): string | null
  getBoundingClientRect(): { left: number; right: number }
}

describe.skipIf(!hasChromium)('the dashboard in headless Chromium', () => {
  let browser: Browser
  let page: Page
  let server: NexflowProcess
  let url: string

  const screenshot = (name: string) => page.screenshot({ path: join(OUTPUT, `${name}.png`), fullPage: true })
  const row = (path: string) => page.locator(`.wf-row[data-path="${path}"]`)

  beforeAll(async () => {
    mkdirSync(OUTPUT, { recursive: true })
    server = startNexflow([FIXTURE, ...COMMON_FLAGS, '--timeout-ms', String(DEADLINE_MS), '--workers', '1', '--no-request-log'])
    ;[url, browser] = await Promise.all([server.listening(), chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] })])
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } })
    page.setDefaultTimeout(WAIT_MS)
  }, SLOW_MS)

  afterAll(async () => {
    await browser?.close()
    await server?.stop()
  }, SLOW_MS)

  it("draws one row per file, coloured by status, the hanging file's bar ending at its deadline", async () => {
    await page.goto(url)
    await page.waitForSelector('body[data-ready]')
    // The rows appear (and grow) as discovery runs; wait for the hanging one to be settled.
    await row('workflows/hanging.ts').and(page.locator('[data-status="timeout"]')).waitFor()
    await row('workflows/throwing.ts').and(page.locator('[data-status="error"]')).waitFor()
    await row('workflows/healthy.ts').and(page.locator('[data-status="ok"]')).waitFor()
    expect(await page.locator('.wf-row').count()).toBe(3)
    const colour = (path: string) => row(path).locator('.wf-bar').evaluate((bar) => getComputedStyle(bar).backgroundColor)
    expect(await colour('workflows/healthy.ts')).toBe('rgb(46, 157, 87)')
    expect(await colour('workflows/throwing.ts')).toBe('rgb(214, 69, 69)')
    expect(await colour('workflows/hanging.ts')).toBe('rgb(232, 137, 12)')
    // Its bar ends at its deadline line: killed at the deadline, give or take the kill's latency.
    const hanging = row('workflows/hanging.ts')
    const bar = await hanging.locator('.wf-bar').evaluate((el: PageElement) => ({ start: Number(el.getAttribute('data-start-ms')), end: Number(el.getAttribute('data-end-ms')), right: el.getBoundingClientRect().right }))
    const deadline = await hanging.locator('.wf-deadline').evaluate((el: PageElement) => ({ at: Number(el.getAttribute('data-deadline-ms')), x: el.getBoundingClientRect().left }))
    expect(deadline.at - bar.start).toBe(DEADLINE_MS)
    expect(bar.end).toBeGreaterThanOrEqual(deadline.at)
    expect(bar.end - deadline.at).toBeLessThan(DEADLINE_MS)
    expect(bar.right).toBeGreaterThanOrEqual(deadline.x - 1)
    await screenshot('waterfall')
  })

  it("shows the throwing file's error and stack when its row is clicked", async () => {
    await row('workflows/throwing.ts').click()
    const detail = page.locator('.detail[data-detail="workflows/throwing.ts"]')
    await detail.locator('.error-message', { hasText: 'settings.json is missing' }).waitFor()
    expect(await detail.locator('.error-stack').textContent()).toMatch(/throwing\.ts:2/)
    await screenshot('file-error')
  })

  it('runs a workflow from its form and shows the outputs, then lists the run', async () => {
    const card = page.locator('details[data-workflow="add"]')
    await card.locator('summary').click()
    await card.locator('svg.graph g[data-node="double"]').waitFor()
    await page.fill('#in-add-a', '2')
    await page.fill('#in-add-b', '3')
    await card.getByRole('button', { name: 'Run' }).click()
    await card.locator('.result-ok .outputs', { hasText: '"doubled": 10' }).waitFor()
    await page.locator('#run-table tr[data-status="completed"]', { hasText: 'add' }).waitFor()
    await screenshot('run-ok')
  })

  it('shows the 400 message next to the input it names when an input is invalid', async () => {
    const card = page.locator('details[data-workflow="scale"]')
    await card.locator('summary').click()
    await page.fill('#in-scale-value', '2')
    await page.fill('#in-scale-factor', 'two')
    await card.getByRole('button', { name: 'Run' }).click()
    await card.locator('[data-field-error="factor"]', { hasText: 'expected number' }).waitFor()
    expect(await card.locator('.result-error').textContent()).toContain('400 VALIDATION_FAILED')
    expect(await card.locator('[data-field-error="value"]').textContent()).toBe('')
    await screenshot('run-invalid')
  })

  it('draws 1000 files without putting 1000 rows in the page: only the rows in view exist, and scrolling brings the others', async () => {
    const statuses = ['ok', 'ok', 'ok', 'empty', 'error', 'timeout']
    const files = Array.from({ length: 1000 }, (_, i) => ({
      path: `workflows/file-${String(i).padStart(4, '0')}.ts`,
      status: statuses[i % statuses.length],
      cached: i % 7 === 0,
      durationMs: 20 + (i % 50),
      workflows: [],
      models: [],
      startMs: i * 3,
      endMs: i * 3 + 20 + (i % 50),
    }))
    // The same page and script, with /discovery answering a thousand files.
    await page.route('**/discovery', (route) => route.fulfill({ json: { ok: false, durationMs: 3100, files, workflows: [], state: 'finished', warnings: [], importing: [], elapsedMs: 3100, timeoutMs: DEADLINE_MS } }))
    try {
      await page.goto(url)
      await row('workflows/file-0000.ts').waitFor()
      const rendered = await page.locator('.wf-row').count()
      expect(rendered).toBeGreaterThan(10)
      expect(rendered).toBeLessThan(80)
      await page.locator('.wf-scroll').evaluate((el: { scrollTop: number }) => {
        el.scrollTop = 999 * 22
      })
      await row('workflows/file-0999.ts').waitFor()
      expect(await page.locator('.wf-row').count()).toBeLessThan(80)
      await screenshot('thousand-files')
    } finally {
      await page.unroute('**/discovery')
    }
  })

  it('with auth on, asks for the key, refuses a wrong one, keeps a right one for the session, and then follows discovery live', async () => {
    // A long deadline this time: the hanging file stays the one bar still growing while the test looks.
    const secured = startNexflow([FIXTURE, ...COMMON_FLAGS, '--timeout-ms', '120000', '--workers', '1', '--no-request-log'], { env: { NEXFLOW_API_KEYS: KEY } })
    try {
      const securedUrl = await secured.listening()
      await page.goto(securedUrl)
      await page.locator('#login').waitFor()
      expect(await page.locator('#main').isHidden()).toBe(true)
      await screenshot('login')
      await page.fill('#api-key', 'wrong')
      await page.click('#login button[type="submit"]')
      await page.locator('#login-error', { hasText: 'did not accept' }).waitFor()
      await page.fill('#api-key', KEY)
      await page.click('#login button[type="submit"]')
      await page.waitForSelector('body[data-ready]')
      expect(await page.locator('#login').isHidden()).toBe(true)
      // Kept in this tab's session, never in the URL.
      expect(page.url()).not.toContain(KEY)
      expect(await page.evaluate(() => sessionStorage.getItem('nexflow.apiKey'))).toBe(KEY)
      // Live, from /events (with the key): the hanging file's bar grows while the others are settled.
      const hanging = row('workflows/hanging.ts').and(page.locator('[data-status="running"]'))
      await hanging.waitFor()
      await row('workflows/throwing.ts').and(page.locator('[data-status="error"]')).waitFor()
      const endOf = () => hanging.locator('.wf-bar').evaluate((el: PageElement) => Number(el.getAttribute('data-end-ms')))
      const before = await endOf()
      await page.waitForFunction((start) => Number(document.querySelector('.wf-row[data-path="workflows/hanging.ts"] .wf-bar')?.getAttribute('data-end-ms')) > start + 250, before)
      await screenshot('live')
    } finally {
      await secured.stop()
    }
  })
})
