import type { DiscoveredFile, DiscoveredRun } from '../../src/discovery/report.js'

export const ROOT = '/repo/app'

/** A discovery result as the engine streams it, with healthy defaults. */
export function file(relativePath: string, overrides: Partial<DiscoveredFile> = {}): DiscoveredFile {
  return {
    path: `${ROOT}/${relativePath}`,
    relativePath,
    status: 'ok',
    cached: false,
    durationMs: 10,
    workflows: [],
    models: [],
    ...overrides,
  }
}

export function run(files: DiscoveredFile[], overrides: Partial<DiscoveredRun> = {}): DiscoveredRun {
  return { root: ROOT, durationMs: 100, files, workflows: files.flatMap((f) => (f.status === 'ok' ? f.workflows : [])), ...overrides }
}

/** One file of every kind a report can hold. */
export function mixedRun(): DiscoveredRun {
  return run([
    file('workflows/create-user.ts', { workflows: ['create-user'], models: ['User', 'Session'], durationMs: 412.4 }),
    file('workflows/empty.ts', { status: 'empty', durationMs: 3 }),
    file('workflows/cached.ts', { cached: true, workflows: ['cached'], durationMs: 0.4, manifest: { importMs: 50 } }),
    file('workflows/boom.ts', { status: 'error', error: { message: 'boom\nsecond line', stack: 'Error: boom\n    at Module.run (/repo/app/node_modules/lib/index.js:4:2)\n    at file:///repo/app/workflows/boom.ts:1:7' } }),
    file('workflows/hang.ts', { status: 'timeout', durationMs: 1000, loadingModule: '/repo/app/lib/slow.ts' }),
    file('workflows/exit.ts', { status: 'exited', exitCode: 3 }),
  ])
}
