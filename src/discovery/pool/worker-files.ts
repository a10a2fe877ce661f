import { fileURLToPath } from 'node:url'
import type { Isolation } from '../options.js'

/**
 * Where the discovery worker files are. The main thread reaches `workers/` only through these
 * paths, handed to `new Worker()` or `fork()`; it never imports them.
 *
 * Running from TypeScript (a checkout, vitest, tsx), this file is src/discovery/pool/*.ts and the
 * entries are workers/*.ts; running built, it is dist/src/discovery/pool/*.js and the entries are
 * dist/workers/*.js. The two plain-JavaScript files (the bootstrap that registers tsx, and the
 * loader hooks) are never compiled and always live in <package>/workers/.
 */
export interface WorkerFiles {
  /** Module the worker or child process starts with: registers tsx, then imports `entry`. */
  bootstrap: string
  /** file: URL of the transport entry for this isolation. */
  entry: string
  /** file: URL of the module.register() hooks. */
  hooks: string
}

const built = !import.meta.url.endsWith('.ts')
const extension = built ? '.js' : '.ts'
const plainJs = new URL(built ? '../../../../workers/' : '../../../workers/', import.meta.url)

export function workerFiles(isolation: Isolation): WorkerFiles {
  return {
    bootstrap: fileURLToPath(new URL('bootstrap.mjs', plainJs)),
    entry: new URL(`../../../workers/discovery-${isolation}${extension}`, import.meta.url).href,
    hooks: new URL('discovery/loader-hooks.mjs', plainJs).href,
  }
}
