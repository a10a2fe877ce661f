import { join, sep } from 'node:path'
import { fileURLToPath } from 'node:url'

// This file is src/own-code.ts in a checkout, dist/src/own-code.js built.
const built = !import.meta.url.endsWith('.ts')
const PACKAGE = fileURLToPath(new URL(built ? '../../' : '../', import.meta.url))
const OWN = ['src', 'dist', 'workers'].map((dir) => join(PACKAGE, dir) + sep)

/** Whether `path` (absolute) is nexflow's own code: a stack frame there is nexflow's, not the user's. */
export function isOwnCode(path: string): boolean {
  return OWN.some((own) => path.startsWith(own))
}
