// `npm run screenshot`: starts the example app (examples/users) with `nexflow start` on a fresh
// SQLite file, runs two of its workflows, and saves the dashboard as docs/dashboard.png (the
// README shows it). Needs Chromium at /usr/bin/chromium (or CHROMIUM=<path>).
import { spawn } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { chromium } from 'playwright-core'

const REPO = fileURLToPath(new URL('../', import.meta.url))
const OUT = join(REPO, 'docs', 'dashboard.png')
const executablePath = process.env.CHROMIUM ?? '/usr/bin/chromium'
const data = mkdtempSync(join(tmpdir(), 'nexflow-screenshot-'))

const server = spawn(process.execPath, [join(REPO, 'bin', 'nexflow.mjs'), 'start', 'examples/users', '--port', '0', '--no-cache', '--log-format', 'text'], {
  cwd: REPO,
  env: { ...process.env, DATABASE_URL: `sqlite://${join(data, 'users.db')}`, NO_COLOR: '1' },
  stdio: ['ignore', 'pipe', 'inherit'],
})
let output = ''
const url = await new Promise<string>((resolve, reject) => {
  server.stdout.on('data', (chunk: Buffer) => {
    output += chunk.toString()
    const match = /listening on (http:\/\/\S+)/.exec(output)
    if (match !== null) resolve(match[1] as string)
  })
  server.once('exit', (code) => reject(new Error(`nexflow start exited (${code ?? 'signal'}) before listening:\n${output}`)))
})

try {
  // Discovery ends once nightly-report.ts reaches its 5 s deadline.
  for (;;) {
    if ((await fetch(`${url}/ready`)).status === 200) break
    await new Promise((resolve) => setTimeout(resolve, 200))
  }
  const run = (name: string, inputs: Record<string, unknown>) => fetch(`${url}/workflows/${name}/execute`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ inputs }) })
  await run('create_user', { id: 'u1', email: 'ada@example.com', fullName: 'Ada Lovelace' })
  await run('create_user', { id: 'u2', email: 'not-an-email' })
  await run('list_users', {})

  const browser = await chromium.launch({ executablePath, args: ['--no-sandbox'] })
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } })
  await page.goto(url)
  await page.waitForSelector('.wf-row[data-status="timeout"]')
  await page.click('.wf-row[data-status="timeout"]')
  await page.click('details[data-workflow="create_user"] summary')
  await page.waitForSelector('details[data-workflow="create_user"] svg.graph')
  await page.waitForSelector('#run-table tr[data-run]')
  mkdirSync(join(REPO, 'docs'), { recursive: true })
  await page.screenshot({ path: OUT, fullPage: true })
  await browser.close()
  console.log(`saved ${OUT}`)
} finally {
  server.kill('SIGTERM')
  await new Promise((resolve) => server.once('exit', resolve))
  rmSync(data, { recursive: true, force: true })
}
