import { afterEach, describe, expect, it } from 'vitest'
import { Nexus, type NexusLogger } from '../../src/index.js'

const quiet: NexusLogger = { info: () => {}, warn: () => {} }
const fixture = (name: string) => new URL(`../../fixtures/nexus/${name}`, import.meta.url).pathname
let app: Nexus | undefined

afterEach(async () => {
  await app?.close()
  app = undefined
})

describe('Nexus serving discovered files', () => {
  it('a file that starts its own server at import does not listen from the worker, and discovery says so', async () => {
    app = new Nexus({ apiPort: 0, root: fixture('starts-itself'), autoDiscovery: { cache: false }, workers: 1, logger: quiet })
    await app.start()
    const report = await app.ready()
    const file = report?.files.find((f) => f.relativePath === 'workflows/app.ts')
    expect(file?.status).toBe('ok')
    expect(file?.manifest?.warnings.join('\n')).toMatch(/Nexus\.start\(\) was called while the file was imported in a discovery worker; it did not listen/)
    // The workflow is served by this server, and running it (which imports the file in an
    // execution worker, where start() is called again) does not open a port either.
    const response = await fetch(`${app.url}/workflows/starts-itself/execute`, { method: 'POST' })
    expect(response.status).toBe(200)
    expect(await response.json()).toMatchObject({ outputs: { hi: { hi: true } } })
  })

  it('a run stuck in native code is answered 504 at its deadline and its thread is counted as abandoned in /health', async () => {
    app = new Nexus({ apiPort: 0, root: fixture('native-stuck'), autoDiscovery: { cache: false }, workers: 1, runTimeoutMs: 500, logger: quiet })
    await app.start()
    await app.ready()
    const url = app.url as string
    const response = await fetch(`${url}/workflows/native-sleep/execute`, { method: 'POST', body: JSON.stringify({ inputs: { seconds: 4 } }) })
    expect(response.status).toBe(504)
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe('RUN_TIMEOUT')
    // The thread cannot be stopped until `sleep` returns; after the grace it is left behind, and the
    // pool has started a replacement that serves the next run.
    await expect.poll(async () => ((await (await fetch(`${url}/health`)).json()) as { pool: { abandoned: number } }).pool.abandoned, { timeout: 10_000 }).toBe(1)
    const next = await fetch(`${url}/workflows/native-sleep/execute`, { method: 'POST', body: JSON.stringify({ inputs: { seconds: 0 } }) })
    expect(next.status).toBe(200)
  })
})
