import { readFileSync } from 'node:fs'
import { performance } from 'node:perf_hooks'
import { sha256 } from '../../src/sha256.js'

/**
 * The built-ins the worker relies on, captured when it boots, before any user module runs. A
 * user module may replace globals (`JSON.stringify`, `performance.now`, timers); the worker
 * keeps reporting with the originals. (The deadline itself lives on the main thread.)
 */
export const intrinsics = Object.freeze({
  now: performance.now.bind(performance),
  stringify: JSON.stringify,
  setImmediate,
  readFileSync,
  sha256,
})

const hashes = new Map<string, string | undefined>()

/**
 * sha256 of a file's bytes, or `undefined` if it cannot be read. Read once per worker: a worker
 * evaluates each module once, so the first read is the content its manifests describe. (If the
 * file changes later, the next run sees a different hash and imports again.)
 */
export function hashFile(path: string): string | undefined {
  if (hashes.has(path)) return hashes.get(path)
  let hash: string | undefined
  try {
    hash = intrinsics.sha256(intrinsics.readFileSync(path))
  } catch {
    hash = undefined
  }
  hashes.set(path, hash)
  return hash
}
