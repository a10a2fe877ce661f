import { fileURLToPath } from 'node:url'

/**
 * Where the server's worker files are. The main thread reaches `workers/` only through these
 * paths, handed to piscina or `new Worker()`; it never imports them. Running from TypeScript (a
 * checkout, vitest, tsx) the logic is workers/<name>.ts; running built, dist/workers/<name>.js.
 * The plain-JavaScript entries the threads start with are never compiled and live in
 * <package>/workers/.
 */
const built = !import.meta.url.endsWith('.ts')
const plainJs = new URL(built ? '../../../workers/' : '../../workers/', import.meta.url)

export const EXECUTION_WORKER_FILES = {
  /** Path of the file piscina loads in each thread. */
  entry: fileURLToPath(new URL('execution-entry.cjs', plainJs)),
  /** file: URL of the execution logic. */
  logic: new URL(`../../workers/execution/worker${built ? '.js' : '.ts'}`, import.meta.url).href,
} as const

export const STORE_WRITER_FILES = {
  /** Path of the file the embedded run store's writer thread starts with. */
  entry: fileURLToPath(new URL('store-writer-entry.mjs', plainJs)),
  /** file: URL of the writer logic. */
  logic: new URL(`../../workers/store/writer${built ? '.js' : '.ts'}`, import.meta.url).href,
} as const
