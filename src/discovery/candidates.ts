import { realpath } from 'node:fs/promises'
import { relative, sep } from 'node:path'
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
 * sorted by relative path. Symbolic links are not followed: a linked file, or a file reached
 * through a linked folder (which a pattern naming the link explicitly makes fast-glob enter), is
 * never a candidate; so no file outside the root, or inside an ignored folder the link points
 * to, is ever imported.
 */
export async function findCandidates(options: Pick<DiscoveryOptions, 'root' | 'patterns' | 'ignore'> = {}): Promise<string[]> {
  const { root, patterns, ignore } = options
  return listCandidates(resolveDiscoveryOptions({ root, patterns, ignore }))
}

/** {@link findCandidates} over options already resolved. */
export async function listCandidates({ root, patterns, ignore }: Pick<ResolvedDiscoveryOptions, 'root' | 'patterns' | 'ignore'>): Promise<string[]> {
  // Loaded on first use: every module that imports nexflow to define a workflow (every
  // discovery worker among them) would otherwise load fast-glob for nothing.
  const { default: fg } = await import('fast-glob')
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
        // The root is a real path, so a file's real path differs from the path it was found at
        // exactly when the file, or a folder on the way to it, is a link. fast-glob lists a link
        // to a file as a file, and enters a linked folder that a pattern names.
        const real = await realpath(file)
        return real === file && isInsideRoot(root, real) ? real : undefined
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
