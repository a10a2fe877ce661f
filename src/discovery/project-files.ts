import { existsSync } from 'node:fs'
import { dirname, join } from 'node:path'

/** The file called `name` nearest to `root` (in it or a folder above). */
export function findNearest(root: string, name: string): string | undefined {
  return findNearestOf(root, [name])[0]
}

/** Those of `names` in the folder nearest to `root` (it or one above) that holds any of them. */
export function findNearestOf(root: string, names: readonly string[]): string[] {
  for (let dir = root; ; dir = dirname(dir)) {
    const found = names.map((name) => join(dir, name)).filter((candidate) => existsSync(candidate))
    if (found.length > 0 || dirname(dir) === dir) return found
  }
}

/** The tsconfig.json tsx compiles a project's files with: the nearest to its root. */
export function projectTsconfig(root: string): string | undefined {
  return findNearest(root, 'tsconfig.json')
}
