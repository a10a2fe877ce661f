/**
 * How code running inside one of nexflow's isolated workers (a discovery import, an execution
 * worker) learns where it is, and tells discovery what it refused to do there. Per thread.
 */

/** Set in discovery workers while files are imported. */
export const DISCOVERY_ENV = 'NEXFLOW_DISCOVERY'
/** Set in the server's execution workers. */
export const EXECUTION_ENV = 'NEXFLOW_EXECUTION'

const NOTES = Symbol.for('nexflow.isolation.notes')

/** Which isolated worker this code runs in, if any. */
export function isolatedWorkerKind(): 'discovery' | 'execution' | undefined {
  if (process.env[DISCOVERY_ENV] === '1') return 'discovery'
  if (process.env[EXECUTION_ENV] === '1') return 'execution'
  return undefined
}

/** Records something user code asked for and an isolated worker refused (e.g. opening a port); discovery puts it in the file's warnings. */
export function noteIsolationWarning(message: string): void {
  const holder = globalThis as { [NOTES]?: string[] }
  ;(holder[NOTES] ??= []).push(message)
}

/** The notes recorded since the last call, cleared. */
export function takeIsolationWarnings(): string[] {
  const holder = globalThis as { [NOTES]?: string[] }
  const notes = holder[NOTES] ?? []
  holder[NOTES] = []
  return notes
}
