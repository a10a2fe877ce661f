import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { performance } from 'node:perf_hooks'

/**
 * The built-ins the worker relies on, captured when it boots, before any user module runs. A
 * user module may replace globals (`JSON.stringify`, `performance.now`, timers); the worker
 * keeps reporting with the originals. (The deadline itself lives on the main thread.)
 */
export const intrinsics = Object.freeze({
  now: performance.now.bind(performance),
  stringify: JSON.stringify,
  readFileSync,
  sha256(content: Buffer | string): string {
    return createHash('sha256').update(content).digest('hex')
  },
})

/** sha256 of a file's bytes, or `undefined` if it cannot be read. */
export function hashFile(path: string): string | undefined {
  try {
    return intrinsics.sha256(intrinsics.readFileSync(path))
  } catch {
    return undefined
  }
}
