import { isErrorBody } from './http-client.js'

/**
 * How `nexflow list` and `nexflow run` print an answer: stdout carries exactly one JSON document
 * (the answer, or the error body), indented for a person at a terminal and on one line for a
 * pipe; an error also gets one line on stderr, for the person.
 */

/** Writes `value` as JSON: indented when `out` is a terminal, else on one line. */
export function writeJson(out: NodeJS.WritableStream, value: unknown): void {
  const tty = (out as { isTTY?: boolean }).isTTY === true
  out.write(`${JSON.stringify(value, null, tty ? 2 : undefined)}\n`)
}

/** The stderr line of an error answer: `nexflow run: CODE: message`. */
export function errorLine(command: string, status: number, body: unknown): string {
  if (isErrorBody(body)) {
    const hint = status === 401 ? ' (pass the key with --api-key, or set NEXFLOW_API_KEY)' : ''
    return `nexflow ${command}: ${body.error.code}: ${body.error.message}${hint}\n`
  }
  return `nexflow ${command}: the server answered HTTP ${status}\n`
}

/** A reader that went away (`nexflow run ... | head -c 0`) is not a failure of the command: its exit code stands. */
export function ignoreClosedPipe(stream: NodeJS.WritableStream): void {
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') throw error
  })
}
