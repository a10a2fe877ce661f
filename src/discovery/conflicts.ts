import type { FileResult } from './results.js'

/**
 * Watches workflow names across files as results arrive. When a file produces a name another
 * file already produced, both become `conflict` (neither wins silently) and both are reported
 * again: a path may be reported more than once, and the last report wins.
 */
export class ConflictTracker {
  /** Each file's result before cross-file conflicts, by path. */
  readonly #own = new Map<string, FileResult>()
  /** What was last reported for each path. */
  readonly #reported = new Map<string, FileResult>()
  readonly #pathsByName = new Map<string, Set<string>>()

  /** Adds a file's result; returns the results to report now (it, and any files it conflicts with). */
  add(result: FileResult): FileResult[] {
    this.#own.set(result.path, result)
    const affected = new Set([result.path])
    if (result.manifest !== undefined) {
      for (const name of result.workflows) {
        let paths = this.#pathsByName.get(name)
        if (paths === undefined) this.#pathsByName.set(name, (paths = new Set()))
        paths.add(result.path)
        if (paths.size > 1) for (const path of paths) affected.add(path)
      }
    }
    const out: FileResult[] = []
    for (const path of [...affected].sort()) {
      const next = this.#resolve(this.#own.get(path) as FileResult)
      if (path === result.path || JSON.stringify(next.error) !== JSON.stringify(this.#reported.get(path)?.error) || next.status !== this.#reported.get(path)?.status) {
        this.#reported.set(path, next)
        out.push(next)
      }
    }
    return out
  }

  /** The latest result of every path, sorted by relative path. */
  results(): FileResult[] {
    return [...this.#reported.values()].sort((a, b) => (a.relativePath < b.relativePath ? -1 : a.relativePath > b.relativePath ? 1 : 0))
  }

  #resolve(own: FileResult): FileResult {
    if (own.manifest === undefined) return own
    const others = new Map<string, string[]>()
    for (const name of own.workflows) {
      const paths = [...(this.#pathsByName.get(name) ?? [])].filter((path) => path !== own.path)
      if (paths.length > 0) others.set(name, paths.map((path) => this.#own.get(path)?.relativePath ?? path).sort())
    }
    if (others.size === 0) return own
    const lines = [...others].map(([name, files]) => `workflow "${name}" is also produced by ${files.join(', ')}`)
    const cross = `${lines.join('; ')}; rename one so each workflow name is unique`
    return {
      ...own,
      status: 'conflict',
      error: {
        name: 'NexflowError',
        code: 'WORKFLOW_NAME_CONFLICT',
        message: own.error === undefined ? `${own.relativePath}: ${cross}` : `${own.error.message}; ${cross}`,
        details: { ...own.error?.details, conflicts: Object.fromEntries(others) },
      },
    }
  }
}
