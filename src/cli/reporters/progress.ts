import { PASSING_STATUSES, type DiscoveredFile } from '../check-report.js'
import { painter, safe } from './table.js'

/** The live line a TTY shows while discovery runs; rewritten in place, erased when done. */
export class Progress {
  readonly #stream: NodeJS.WritableStream
  readonly #paint
  readonly #started = performance.now()
  readonly #latest = new Map<string, DiscoveredFile>()
  #last = ''
  #timer: NodeJS.Timeout | undefined

  constructor(stream: NodeJS.WritableStream, options: { color: boolean }) {
    this.#stream = stream
    this.#paint = painter(options.color)
    // Ticks so the elapsed time moves while a slow file holds everything else up. unref: the
    // ticker must never be what keeps the process alive.
    this.#timer = setInterval(() => this.#render(), 250)
    this.#timer.unref()
    this.#render()
  }

  /** Records a streamed result (a path may come again, e.g. as a conflict; the last one wins). */
  update(file: DiscoveredFile): void {
    this.#latest.set(file.path, file)
    this.#last = `${file.relativePath} ${file.status}`
    this.#render()
  }

  stop(): void {
    clearInterval(this.#timer)
    this.#timer = undefined
    this.#stream.write('\r\u001b[2K')
  }

  #render(): void {
    if (this.#timer === undefined) return
    const failing = [...this.#latest.values()].filter((f) => !PASSING_STATUSES.has(f.status)).length
    const seconds = ((performance.now() - this.#started) / 1000).toFixed(1)
    const failed = failing > 0 ? `, ${failing} failing` : ''
    const counts = `${this.#latest.size} checked${failed}, ${seconds} s`
    // A line longer than the terminal wraps, and `\r` would then only rewind its last row.
    const room = ((this.#stream as { columns?: number }).columns || 80) - 'nexflow check '.length - counts.length - 3
    let last = safe(this.#last)
    if (last.length > room) last = room > 1 ? `…${last.slice(last.length - room + 1)}` : ''
    const painted = failed === '' ? counts : counts.replace(failed, `, ${this.#paint.red(`${failing} failing`)}`)
    this.#stream.write(`\r\u001b[2K${this.#paint.dim('nexflow check')} ${painted}${last === '' ? '' : this.#paint.dim(`  ${last}`)}`)
  }
}
