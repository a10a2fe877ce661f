import { extname, relative, sep } from 'node:path'
import { watch, type FSWatcher } from 'chokidar'
import { CANDIDATE_EXTENSIONS } from '../../discovery/defaults.js'

/** Folders never worth watching: what discovery never imports, and what changes on its own (the cache, databases). */
const SKIPPED_FOLDERS: ReadonlySet<string> = new Set(['node_modules', '.git', '.nexflow', 'dist', 'build', 'coverage'])

/** Files whose change can change what a module evaluates to: code, and the settings tsx compiles it with. */
const CODE_EXTENSIONS: ReadonlySet<string> = new Set([...CANDIDATE_EXTENSIONS, 'json'].map((ext) => `.${ext}`))

/** True for paths under `root` that a reload could care about. */
export function isWatchedPath(root: string, path: string): boolean {
  const parts = relative(root, path).split(sep)
  if (parts.some((part) => SKIPPED_FOLDERS.has(part))) return false
  return CODE_EXTENSIONS.has(extname(path))
}

export interface ProjectWatcher {
  /** Resolves once the initial scan is done: changes from then on are reported. */
  readonly ready: Promise<void>
  close(): Promise<void>
}

/**
 * Watches a project for changes to code. Events are only hints: `onChange` is called (debounced,
 * `debounceMs` after the last event of a burst) and the caller re-lists and re-hashes, so an
 * editor's save style (an atomic rename, several writes, a formatter rewriting right after) is
 * one change, never a missed one or a flapping one. A database or log file changing in the
 * project is not code and wakes nothing.
 */
export function watchProject(root: string, debounceMs: number, onChange: (paths: string[]) => void): ProjectWatcher {
  const watcher: FSWatcher = watch(root, {
    ignoreInitial: true,
    ignored: (path, stats) => {
      const parts = relative(root, path).split(sep)
      if (parts.some((part) => SKIPPED_FOLDERS.has(part))) return true
      return stats?.isFile() === true && !CODE_EXTENSIONS.has(extname(path))
    },
  })
  let timer: NodeJS.Timeout | undefined
  const pending = new Set<string>()
  const hint = (path: string, folder = false) => {
    if (folder ? relative(root, path).split(sep).some((part) => SKIPPED_FOLDERS.has(part)) : !isWatchedPath(root, path)) return
    pending.add(path)
    clearTimeout(timer)
    timer = setTimeout(() => {
      const paths = [...pending]
      pending.clear()
      onChange(paths)
    }, debounceMs)
  }
  for (const event of ['add', 'change', 'unlink'] as const) watcher.on(event, (path) => hint(path))
  // A removed folder takes its files with it.
  watcher.on('unlinkDir', (path) => hint(path, true))
  const ready = new Promise<void>((resolve) => watcher.once('ready', () => resolve()))
  return {
    ready,
    async close() {
      clearTimeout(timer)
      await watcher.close()
    },
  }
}
