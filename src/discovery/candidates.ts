import { lstat, realpath } from 'node:fs/promises'
import { relative, sep } from 'node:path'
import fg from 'fast-glob'
import { resolveDiscoveryOptions, type DiscoveryOptions, type ResolvedDiscoveryOptions } from './options.js'

/** Forward-slash path of `file` relative to `root`. */
export function relativeToRoot(root: string, file: string): string {
  return relative(root, file).split(sep).join('/')
}

/** True when `file` (a real path) is inside `root` (a real path). */
export function isInsideRoot(root: string, file: string): boolean {
  return file.startsWith(root.endsWith(sep) ? root : root + sep)
}

/**
 * The files discovery would import under a root: fast-glob over `patterns` minus `ignore`,
 * sorted by relative path. Symbolic links are not followed: a linked file or folder is never a
 * candidate, and any file whose real path is outside the root is dropped.
 */
export async function findCandidates(options: Pick<DiscoveryOptions, 'root' | 'patterns' | 'ignore'> = {}): Promise<string[]> {
  const { root, patterns, ignore } = options
  return listCandidates(resolveDiscoveryOptions({ root, patterns, ignore }))
}

/** {@link findCandidates} over options already resolved. */
export async function listCandidates({ root, patterns, ignore }: Pick<ResolvedDiscoveryOptions, 'root' | 'patterns' | 'ignore'>): Promise<string[]> {
  const found = await fg([...patterns], {
    cwd: root,
    ignore: [...ignore],
    absolute: true,
    onlyFiles: true,
    followSymbolicLinks: false,
    dot: false,
    unique: true,
    suppressErrors: true,
  })
  const checked = await Promise.all(
    found.map(async (file) => {
      try {
        // fast-glob lists a symlink to a file as a file; it is a link all the same.
        if ((await lstat(file)).isSymbolicLink()) return undefined
        const real = await realpath(file)
        return isInsideRoot(root, real) ? real : undefined
      } catch {
        return undefined // vanished between the glob and the check
      }
    }),
  )
  const files = [...new Set(checked.filter((file): file is string => file !== undefined))]
  return files.sort((a, b) => {
    const ra = relativeToRoot(root, a)
    const rb = relativeToRoot(root, b)
    return ra < rb ? -1 : ra > rb ? 1 : 0
  })
}
