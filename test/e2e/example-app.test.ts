import { execFile, spawn, type ChildProcess } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { promisify } from 'node:util'
import { afterAll, describe, expect, it } from 'vitest'
import { runSamples, workflow } from '../../examples/shop/workflows/price-order.js'

const run = promisify(execFile)

describe('bundled example app', () => {
  it('prices both sample orders, discounting the large one', async () => {
    const lines: string[] = []
    await runSamples((line) => lines.push(line))
    expect(lines).toHaveLength(2)
    expect(lines[0]).toMatch(/Ada: 1 lines, total 121\.50$/)
    expect(lines[1]).toMatch(/Grace: 2 lines, total 16\.00$/)
  })

  it('publishes its inputs as JSON Schema', () => {
    expect(workflow.inputSchema).toMatchObject({ properties: { items: {}, customer: {} }, required: ['customer', 'items'] })
  })
})

describe('npm start', () => {
  const dirs: string[] = []
  let child: ChildProcess | undefined
  afterAll(async () => {
    child?.kill('SIGKILL')
    await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })))
  })

  it('serves the bundled users app on embedded SQLite: the README commands work, the hanging file times out', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'nexflow-start-'))
    dirs.push(dir)
    const bin = new URL('../../bin/nexflow.mjs', import.meta.url).pathname
    const app = new URL('../../examples/users', import.meta.url).pathname
    // The same command as `npm start`, on a free port and with the database in a temporary folder.
    child = spawn(process.execPath, [bin, 'start', app, '--port', '0'], { env: { ...process.env, DATABASE_URL: `sqlite:${join(dir, 'users.db')}` }, stdio: ['ignore', 'pipe', 'pipe'] })
    const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream })
    const seen: string[] = []
    const waitFor = (pattern: RegExp) =>
      new Promise<string>((resolve, reject) => {
        const found = seen.find((line) => pattern.test(line))
        if (found !== undefined) return resolve(found)
        const onLine = (line: string) => {
          if (!pattern.test(line)) return
          lines.off('line', onLine)
          resolve(line)
        }
        lines.on('line', onLine)
        child?.once('exit', (code) => reject(new Error(`nexflow start exited with ${String(code)} before printing ${String(pattern)}; it printed:\n${seen.join('\n')}`)))
      })
    lines.on('line', (line) => seen.push(line))
    const url = /listening on (\S+)/.exec(await waitFor(/listening on http/))?.[1] as string
    expect((await fetch(`${url}/health`)).status).toBe(200)
    await waitFor(/workflows\/create-user\.ts\s+ok/)
    await waitFor(/workflows\/create-session\.ts\s+ok/)
    const post = async (name: string, inputs?: Record<string, unknown>) => {
      const response = await fetch(`${url}/workflows/${name}/execute`, { method: 'POST', headers: { 'content-type': 'application/json' }, ...(inputs === undefined ? {} : { body: JSON.stringify({ inputs }) }) })
      return { status: response.status, body: (await response.json()) as { outputs: Record<string, Record<string, unknown>> } }
    }
    expect(await post('create_user', { id: 'u1', email: 'ada@example.com', fullName: 'Ada Lovelace' })).toMatchObject({ status: 200, body: { outputs: { user: { id: 'u1', active: true } } } })
    expect(await post('create_session', { userId: 'u1', sessionId: 's1', token: 'tok-1', expiresAt: '2030-01-01T00:00:00Z' })).toMatchObject({ status: 200, body: { outputs: { session: { userId: 'u1' } } } })
    await waitFor(/workflows\/list-users\.ts\s+ok/)
    const listed = await post('list_users')
    expect((listed.body.outputs.users?.records as { id: string }[]).map((user) => user.id).sort()).toEqual(['admin', 'u1'])
    expect(await waitFor(/workflows\/nightly-report\.ts\s+TIMEOUT/)).toContain('did not finish importing within 5000 ms')
    await waitFor(/; ready$/)
    expect((await fetch(`${url}/ready`)).status).toBe(200)
    const exited = new Promise<number | null>((resolve) => child?.once('exit', resolve))
    child.kill('SIGTERM')
    expect(await exited).toBe(0)
  })
})

describe('nexflow CLI', () => {
  const bin = new URL('../../bin/nexflow.mjs', import.meta.url).pathname

  it('prints its version and help', async () => {
    const { version } = (await import('../../package.json', { with: { type: 'json' } })).default
    expect((await run(process.execPath, [bin, '--version'])).stdout.trim()).toBe(version)
    expect((await run(process.execPath, [bin, '--help'])).stdout).toContain('Usage: nexflow <command>')
  })

  it('exits 2 with a usage hint on an unknown command or flag', async () => {
    for (const args of [['frobnicate'], ['--frobnicate']]) {
      const error = (await run(process.execPath, [bin, ...args]).catch((e: unknown) => e)) as { code: number; stderr: string }
      expect(error.code).toBe(2)
      expect(error.stderr).toContain('nexflow --help')
    }
  })
})
