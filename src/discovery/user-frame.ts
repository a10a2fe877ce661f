import { isAbsolute, relative, sep } from 'node:path'
import { fileURLToPath } from 'node:url'
import { isOwnCode } from '../own-code.js'

/** `at fn (/a/b.ts:3:7)`, `at /a/b.ts:3:7`, `at file:///a/b.ts:3:7`, `at async fn (file:///a/b.ts:3:7)`. */
const FRAME = /^\s*at (?:.*?\()?((?:file:\/\/)?\/[^():]*|[A-Za-z]:\\[^():]*):(\d+):\d+\)?\s*$/

/**
 * Where the user's code threw: `relative/path.ts:line` of the first stack frame in a file under
 * `root`, outside node_modules and outside nexflow itself (`node:` frames never match), or
 * `undefined` when there is none (a thrown string, an error raised by a dependency alone).
 */
export function firstUserFrame(stack: string | undefined, root: string): string | undefined {
  if (stack === undefined) return undefined
  for (const line of stack.split('\n')) {
    const match = FRAME.exec(line)
    if (match === null) continue
    let path = match[1] as string
    if (path.startsWith('file://')) {
      try {
        path = fileURLToPath(path)
      } catch {
        continue
      }
    }
    const rel = relative(root, path)
    if (rel === '' || rel.startsWith('..') || isAbsolute(rel)) continue
    // A frame in nexflow's own code is where nexflow reported the error, not where the user's code went wrong.
    if (rel.split(sep).includes('node_modules') || isOwnCode(path)) continue
    return `${rel.split(sep).join('/')}:${match[2] as string}`
  }
  return undefined
}
