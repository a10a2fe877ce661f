import { existsSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

// The nearest package.json above this file: `src/` in a checkout, `dist/src/` when built.
function readOwnPackageJson(): { version: string } {
  let dir = dirname(fileURLToPath(import.meta.url))
  for (;;) {
    const candidate = join(dir, 'package.json')
    if (existsSync(candidate)) return JSON.parse(readFileSync(candidate, 'utf8')) as { version: string }
    const parent = dirname(dir)
    if (parent === dir) throw new Error('nexflow: cannot find its own package.json')
    dir = parent
  }
}

/** nexflow's version; manifests and caches are keyed by it. */
export const VERSION: string = readOwnPackageJson().version
