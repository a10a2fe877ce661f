import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { describe, expect, it } from 'vitest'
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
