/** How long a line may wait to be written with the lines after it. */
export const LINE_BATCH_MS = 20

/** Above this many characters waiting, they are written at once. */
const LINE_BATCH_CHARS = 64 * 1024

/** Every batch with lines waiting, written on exit by one listener. */
const waiting = new Set<() => void>()
let exitHooked = false

/**
 * Writes lines to a stream together, at most every {@link LINE_BATCH_MS}. A server under load logs
 * a line per request and per run; on a pipe or a file each `write` is a system call on the main
 * thread (and wakes the reader), while a batch of a few hundred lines needs only one. Order is
 * kept: lines go out in the order they were given, whole. Lines still waiting when the process
 * exits are written then (writes to pipes and files are synchronous on exit).
 */
export function batchedLines(stream: NodeJS.WritableStream): (line: string) => void {
  let pending = ''
  let timer: NodeJS.Timeout | undefined
  const flush = () => {
    if (timer !== undefined) clearTimeout(timer)
    timer = undefined
    waiting.delete(flush)
    if (pending === '') return
    const text = pending
    pending = ''
    stream.write(text)
  }
  if (!exitHooked) {
    exitHooked = true
    process.on('exit', () => [...waiting].forEach((each) => each()))
  }
  return (line) => {
    pending += `${line}\n`
    if (pending.length >= LINE_BATCH_CHARS) return flush()
    // unref: a line waiting must not keep the process alive; the exit hook writes it.
    if (timer === undefined) {
      timer = setTimeout(flush, LINE_BATCH_MS).unref()
      waiting.add(flush)
    }
  }
}
