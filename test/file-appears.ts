import { existsSync, readFileSync, watch } from 'node:fs'
import { dirname } from 'node:path'

/**
 * Resolves once `path` exists (and, with `nonEmpty`, has content): watched, not polled, for a
 * test to wait on what another thread or process did instead of sleeping.
 */
export function fileAppears(path: string, options: { nonEmpty?: boolean } = {}): Promise<void> {
  const ready = () => existsSync(path) && (options.nonEmpty !== true || readFileSync(path, 'utf8') !== '')
  return new Promise((resolve) => {
    const watcher = watch(dirname(path), () => check())
    const check = () => {
      if (!ready()) return
      watcher.close()
      resolve()
    }
    // It may have appeared before the watch began.
    check()
  })
}
