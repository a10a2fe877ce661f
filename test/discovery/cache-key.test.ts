import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { discover, type DiscoveryOptions } from '../../src/discovery/index.js'
import { byPath, tempProject } from './helpers.js'

const TIMEOUT_MS = 5000

// Regression (issue 9): the cache key ignored the lockfile, so upgrading a dependency kept
// serving manifests built against the old one.
// Sequential whatever the runner is told: each test changes the project and its cache for the next.
describe.sequential('manifest cache key and the lockfile', () => {
  const project = tempProject({
    'package-lock.json': '{ "lockfileVersion": 3, "packages": { "node_modules/dep": { "version": "1.0.0" } } }',
    'app/package.json': '{ "type": "module" }',
    'app/package-lock.json': '{ "lockfileVersion": 3, "packages": { "node_modules/dep": { "version": "1.0.0" } } }',
    'app/workflows/fine.ts': 'export const fine = true\n',
  })
  afterAll(() => project.remove())
  const options: DiscoveryOptions = { root: join(project.root, 'app'), timeoutMs: TIMEOUT_MS }
  /** This run's result for the one file, which imports nothing: cached or not is the point. */
  const fine = async () => byPath(await discover(options).report)['workflows/fine.ts']

  it("re-imports cached files when the root's lockfile changes", async () => {
    expect(await fine()).toMatchObject({ status: 'empty', cached: false })
    expect(await fine()).toMatchObject({ status: 'empty', cached: true })
    project.write('app/package-lock.json', '{ "lockfileVersion": 3, "packages": { "node_modules/dep": { "version": "2.0.0" } } }')
    expect(await fine()).toMatchObject({ status: 'empty', cached: false })
    expect(await fine()).toMatchObject({ status: 'empty', cached: true })
  })

  it('reads every package manager\'s lockfile, and a new one counts as a change', async () => {
    await fine()
    expect(await fine()).toMatchObject({ cached: true })
    project.write('app/pnpm-lock.yaml', "lockfileVersion: '9.0'\n")
    expect(await fine()).toMatchObject({ cached: false })
    for (const [file, content] of [['app/pnpm-lock.yaml', "lockfileVersion: '9.0'\n# upgraded\n"], ['app/yarn.lock', '# yarn lockfile v1\n'], ['app/bun.lock', '{ "lockfileVersion": 1 }\n']] as const) {
      expect(await fine()).toMatchObject({ cached: true })
      project.write(file, content)
      expect(await fine(), file).toMatchObject({ cached: false })
    }
  })

  it('uses only the nearest folder with a lockfile: a lockfile above it is not the project\'s', async () => {
    await fine()
    expect(await fine()).toMatchObject({ cached: true })
    project.write('package-lock.json', '{ "lockfileVersion": 3, "packages": {} }')
    expect(await fine()).toMatchObject({ cached: true })
  })
})

describe('manifest cache key and a lockfile in a folder above the root (a workspace)', () => {
  const project = tempProject({
    'pnpm-lock.yaml': "lockfileVersion: '9.0'\n",
    'packages/app/package.json': '{ "type": "module" }',
    'packages/app/workflows/fine.ts': 'export const fine = true\n',
  })
  afterAll(() => project.remove())
  const options: DiscoveryOptions = { root: join(project.root, 'packages', 'app'), timeoutMs: TIMEOUT_MS }
  const fine = async () => byPath(await discover(options).report)['workflows/fine.ts']

  it("re-imports cached files when the workspace's lockfile changes", async () => {
    expect(await fine()).toMatchObject({ status: 'empty', cached: false })
    expect(await fine()).toMatchObject({ status: 'empty', cached: true })
    project.write('pnpm-lock.yaml', "lockfileVersion: '9.0'\n# a dependency upgraded\n")
    expect(await fine()).toMatchObject({ status: 'empty', cached: false })
  })
})
