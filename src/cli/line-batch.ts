/**
 * Writes lines to a stream together, once per turn of the event loop. A server under load logs a
 * line per request and per run; on a pipe or a file each `write` is a system call on the main
 * thread, while a turn that answered fifty requests needs only one. Order is kept: lines go out
 * in the order they were given, whole.
 */
export function batchedLines(stream: NodeJS.WritableStream): (line: string) => void {
  let pending = ''
  let scheduled = false
  const flush = () => {
    scheduled = false
    const text = pending
    pending = ''
    stream.write(text)
  }
  return (line) => {
    pending += `${line}\n`
    if (!scheduled) {
      scheduled = true
      setImmediate(flush)
    }
  }
}
