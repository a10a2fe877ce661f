import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { discover, type Isolation } from '../../src/discovery/index.js'
import { byPath, tempProject } from './helpers.js'

/**
 * A worker begins the next file as it reports on the previous one (see `next` in
 * discovery-messages.ts). What the previous import leaves behind must still be settled first: a
 * "cancel" sent while it blocked the thread, and a rejection it left unhandled.
 */

/** A file that appends its name to NEXFLOW_EVAL_LOG whenever it is evaluated. */
const logged = (name: string) => `import { appendFileSync } from 'node:fs'
appendFileSync(process.env.NEXFLOW_EVAL_LOG as string, ${JSON.stringify(name)} + '\\n')
export const name = ${JSON.stringify(name)}
`

describe.each<Isolation>(['thread', 'process'])('a worker handing over to its next file (%s isolation)', (isolation) => {
  const projects: { remove(): void }[] = []
  afterAll(() => {
    for (const project of projects) project.remove()
    delete process.env.NEXFLOW_EVAL_LOG
  })

  it('evaluates a file once when it was taken back while the import before it blocked the thread', async () => {
    const files: Record<string, string> = { 'package.json': '{ "type": "module" }' }
    for (let i = 0; i < 8; i++) files[`workflows/a${i}.ts`] = logged(`a${i}`)
    // Blocks its thread well past the linger threshold (but within the deadline): the file
    // handed to the same worker in advance is taken back and given to the other worker.
    files['workflows/m-slow.ts'] = 'const end = Date.now() + 2500\nwhile (Date.now() < end) {}\nexport const slow = true\n'
    for (let i = 0; i < 4; i++) files[`workflows/z${i}.ts`] = logged(`z${i}`)
    const project = tempProject(files)
    projects.push(project)
    const log = join(project.root, 'evaluations.log')
    process.env.NEXFLOW_EVAL_LOG = log
    // A main thread busy with other work (a server's requests) reads worker messages late.
    const busy = setInterval(() => {
      const end = Date.now() + 30
      while (Date.now() < end) {
        // busy
      }
    }, 50)
    let report
    try {
      report = await discover({ root: project.root, cache: false, concurrency: 2, isolation, timeoutMs: 15_000 }).report
    } finally {
      clearInterval(busy)
    }
    expect(report.files.map((file) => file.status)).toEqual(report.files.map(() => 'empty'))
    const evaluated = existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n') : []
    const counts = new Map<string, number>()
    for (const name of evaluated) counts.set(name, (counts.get(name) ?? 0) + 1)
    expect([...counts].filter(([, count]) => count !== 1)).toEqual([])
    expect(counts.size).toBe(12)
  }, 60_000)

  it('blames a rejection left unhandled on the file that left it, not on the file after it', async () => {
    const files: Record<string, string> = { 'package.json': '{ "type": "module" }' }
    for (let i = 0; i < 12; i++) files[`workflows/f${String(i).padStart(2, '0')}.ts`] = `export const n = ${i}\n`
    files['workflows/f05.ts'] = "void Promise.reject(new Error('left behind by f05'))\nexport const n = 5\n"
    const project = tempProject(files)
    projects.push(project)
    const report = await discover({ root: project.root, cache: false, concurrency: 1, isolation, timeoutMs: 15_000 }).report
    const results = byPath(report)
    expect(results['workflows/f05.ts']).toMatchObject({ status: 'crashed', error: { message: expect.stringContaining('left behind by f05') } })
    const others = report.files.filter((file) => file.relativePath !== 'workflows/f05.ts')
    expect(others.map((file) => [file.relativePath, file.status])).toEqual(others.map((file) => [file.relativePath, 'empty']))
  }, 60_000)
})
