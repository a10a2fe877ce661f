import { execFile } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
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
  afterAll(() => Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true }))))

  it('discovers the shop app in workers, then runs its workflows on embedded SQLite', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'nexflow-start-'))
    dirs.push(dir)
    const script = new URL('../../examples/start.ts', import.meta.url).pathname
    const tsx = new URL('../../node_modules/tsx/dist/cli.mjs', import.meta.url).pathname
    const { stdout } = await run(process.execPath, [tsx, script], { env: { ...process.env, DATABASE_URL: `sqlite:${join(dir, 'shop.db')}` } })
    expect(stdout).toMatch(/discovered workflows\/price-order\.ts: ok/)
    expect(stdout).toMatch(/discovered workflows\/record-order\.ts: ok.*workflows: record-order, models: Order/)
    expect(stdout).toContain('discovery ok: 2 files, 2 workflows')
    expect(stdout).toMatch(/Ada: 1 lines, total 121\.50/)
    expect(stdout).toContain('order #1 for Ada stored; orders on file for Ada: 1')
    expect(stdout).toContain('order #2 for Grace stored; orders on file for Grace: 1')
    expect(stdout).toContain(`orders are stored in sqlite:${join(dir, 'shop.db')}`)
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
