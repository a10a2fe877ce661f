import { fileURLToPath } from 'node:url'

/**
 * Where the execution worker files are. The main thread reaches `workers/` only through these
 * paths, handed to piscina; it never imports them. Running from TypeScript (a checkout, vitest,
 * tsx) the logic is workers/execution/worker.ts; running built, dist/workers/execution/worker.js.
 * The plain-JavaScript entry piscina loads is never compiled and lives in <package>/workers/.
 */
const built = !import.meta.url.endsWith('.ts')
const plainJs = new URL(built ? '../../../workers/' : '../../workers/', import.meta.url)

export const EXECUTION_WORKER_FILES = {
  /** Path of the file piscina loads in each thread. */
  entry: fileURLToPath(new URL('execution-entry.cjs', plainJs)),
  /** file: URL of the execution logic. */
  logic: new URL(`../../workers/execution/worker${built ? '.js' : '.ts'}`, import.meta.url).href,
} as const
