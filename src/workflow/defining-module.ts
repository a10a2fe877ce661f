import { fileURLToPath } from 'node:url'
import { isOwnCode } from '../own-code.js'

/**
 * The file of the code that called into nexflow to define something (a node type, a model): the
 * first stack frame outside nexflow's own code that is a file on disk. An execution worker can
 * import that file to define the same thing in its own thread. `undefined` when there is none
 * (code evaluated from a string, a REPL).
 */
export function definingModule(): string | undefined {
  // Saved to be put back as it was, never called here.
  // eslint-disable-next-line @typescript-eslint/unbound-method
  const { prepareStackTrace: prepare, stackTraceLimit: limit } = Error
  let sites: NodeJS.CallSite[]
  try {
    Error.stackTraceLimit = 12
    Error.prepareStackTrace = (_error, callSites) => callSites
    sites = new Error().stack as unknown as NodeJS.CallSite[]
  } finally {
    Error.prepareStackTrace = prepare
    Error.stackTraceLimit = limit
  }
  for (const site of sites) {
    let file = site.getFileName() ?? ''
    if (file.startsWith('file://')) {
      try {
        file = fileURLToPath(file)
      } catch {
        continue
      }
    }
    if (!file.startsWith('/') && !/^[A-Za-z]:\\/.test(file)) continue
    if (!isOwnCode(file)) return file
  }
  return undefined
}
