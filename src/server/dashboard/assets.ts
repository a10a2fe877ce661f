import { readFile } from 'node:fs/promises'
import { NexflowError } from '../../errors.js'
import { bundleDashboard } from './bundle.js'

/** The built script: next to the compiled server in a package (`dist/dashboard/app.js`). */
const BUILT = new URL('../../../dashboard/app.js', import.meta.url)

let script: Promise<string> | undefined

/**
 * The dashboard's script, loaded once per process: the built file when there is one (an installed
 * package), else bundled from the checkout's sources on first request and kept in memory.
 */
export function dashboardScript(): Promise<string> {
  script ??= readFile(BUILT, 'utf8').catch(async (error: unknown) => {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error
    try {
      return await bundleDashboard()
    } catch (cause) {
      // Forget the failure: the next request tries again (a file being edited, say).
      script = undefined
      throw new NexflowError('INTERNAL', `the dashboard script is not built (dist/dashboard/app.js is missing) and cannot be bundled from its sources: ${(cause as Error).message}; run npm run build`, { cause })
    }
  })
  return script
}
