import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PassThrough } from 'node:stream'
import { afterAll, describe, expect, it } from 'vitest'
import { main } from '../../src/cli/main.js'
import type { CheckJson } from '../../src/discovery/report.js'

const tmp = mkdtempSync(join(tmpdir(), 'nexflow-cli-main-'))
afterAll(() => rmSync(tmp, { recursive: true, force: true }))

function capture() {
  const stream = new PassThrough()
  let text = ''
  stream.on('data', (chunk: Buffer) => (text += chunk.toString()))
  return { stream, text: () => text }
}

// Embedded (streams that are not the process's own), the CLI returns its code and never ends
// the process: this suite would die with it.
describe('main, embedded', () => {
  it('runs check and returns its exit code', async () => {
    const out = capture()
    const err = capture()
    const code = await main(['check', 'fixtures/check/healthy', '--json', '--cache-dir', join(tmp, 'cache')], out.stream, err.stream)
    expect(code).toBe(0)
    const report = JSON.parse(out.text()) as CheckJson
    expect(report.workflows).toEqual(['double-it', 'greet'])
    expect(err.text()).toContain('nexflow check passed')
  })

  it('returns 2 with the flag and the fix for bad usage', async () => {
    const err = capture()
    expect(await main(['check', '--concurrency', 'many'], capture().stream, err.stream)).toBe(2)
    expect(err.text()).toBe(
      'nexflow check: --concurrency: expected a whole number of workers from 1 to 256, got "many"; for example --concurrency 4\nRun "nexflow check --help" for usage.\n',
    )
  })

  it('returns 2 naming the flag when a report cannot be written', async () => {
    const notAFolder = join(tmp, 'plain-file')
    writeFileSync(notAFolder, '')
    const err = capture()
    const code = await main(['check', 'fixtures/check/healthy', '--cache-dir', join(tmp, 'cache'), '--junit', join(notAFolder, 'junit.xml')], capture().stream, err.stream)
    expect(code).toBe(2)
    // Found before discovery runs, not after it.
    expect(err.text()).toMatch(/^nexflow check: --junit: cannot write ".*plain-file\/junit\.xml": ".*plain-file" is not a folder; name a file in a writable folder\n/)
  })

  it('lists check in the help, and does not take inherited object keys for commands', async () => {
    const out = capture()
    expect(await main(['--help'], out.stream, capture().stream)).toBe(0)
    expect(out.text()).toContain('check [root]')
    expect(await main(['toString'], capture().stream, capture().stream)).toBe(2)
  })
})
