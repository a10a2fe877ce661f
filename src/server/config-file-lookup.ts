import { statSync } from 'node:fs'
import { basename, isAbsolute, relative, resolve } from 'node:path'
import { NexflowError } from '../errors.js'

// Where a project's config file is, apart from loading it (config-file.ts): `nexflow start` looks
// for it before it listens, and only node:fs is needed for that.

/** The names a config file may have at the root, in the order they are looked for. */
export const CONFIG_FILE_NAMES = ['nexflow.config.ts', 'nexflow.config.mts', 'nexflow.config.js', 'nexflow.config.mjs', 'nexflow.config.json'] as const

/** The file as messages name it: relative to the working directory when inside it. */
export function shown(file: string): string {
  const path = relative(process.cwd(), file)
  return path !== '' && !path.startsWith('..') && !isAbsolute(path) ? path : file
}

function exists(file: string): boolean {
  try {
    return statSync(file, { throwIfNoEntry: false }) !== undefined
  } catch (thrown) {
    // The root is a file: nothing is in it.
    if ((thrown as NodeJS.ErrnoException).code === 'ENOTDIR') return false
    // Unreadable (EACCES): whether it holds a config file cannot be known, which is not "no".
    throw new NexflowError('CONFIG_INVALID', `${shown(file)} cannot be checked: ${(thrown as Error).message}`, { details: { file }, cause: thrown })
  }
}

/**
 * The config file at `root` (absolute), or `undefined` if there is none.
 * @throws NexflowError `CONFIG_INVALID` when there are several: which one applies would be a guess.
 */
export function findConfigFile(root: string): string | undefined {
  const found = CONFIG_FILE_NAMES.map((name) => resolve(root, name)).filter(exists)
  if (found.length > 1) {
    const names = found.map((file) => basename(file))
    const list = `${names.slice(0, -1).join(', ')} and ${names.at(-1)}`
    throw new NexflowError('CONFIG_INVALID', `${shown(resolve(root))} has ${found.length} config files, ${list}; keep one`, { details: { root: resolve(root), files: found } })
  }
  return found[0]
}

