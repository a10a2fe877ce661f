import type { DiscoveredFile } from '../../discovery/report.js'
import { isPassing } from '../../protocol/discovery.js'
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
    const failing = [...this.#latest.values()].filter((f) => !isPassing(f.status)).length
    const seconds = ((performance.now() - this.#started) / 1000).toFixed(1)
    const failed = failing > 0 ? `, ${failing} failing` : ''
    const counts = `${this.#latest.size} checked${failed}, ${seconds} s`
    // A line longer than the terminal wraps, and `\r` would then only rewind its last row: it is
    // cut to the terminal's width (in columns: a CJK character takes two), or not drawn at all.
    const columns = (this.#stream as { columns?: number }).columns || 80
    const fixed = 'nexflow check '.length + counts.length
    if (fixed >= columns) return void this.#stream.write('\r\u001b[2K')
    const last = tail(safe(this.#last), columns - fixed - 3)
    const painted = failed === '' ? counts : counts.replace(failed, `, ${this.#paint.red(`${failing} failing`)}`)
    this.#stream.write(`\r\u001b[2K${this.#paint.dim('nexflow check')} ${painted}${last === '' ? '' : this.#paint.dim(`  ${last}`)}`)
  }
}

// East Asian wide and fullwidth characters, and emoji: two terminal columns each.
const WIDE = /[\u1100-\u115f\u2e80-\ua4cf\uac00-\ud7a3\uf900-\ufaff\ufe30-\ufe4f\uff00-\uff60\uffe0-\uffe6\u{1f300}-\u{1faff}\u{20000}-\u{3fffd}]/u

function width(char: string): number {
  return WIDE.test(char) ? 2 : 1
}

/** The end of `text` that fits in `columns` terminal columns, led by `…` when cut; '' if nothing useful fits. */
function tail(text: string, columns: number): string {
  const chars = [...text]
  if (chars.reduce((sum, char) => sum + width(char), 0) <= columns) return text
  if (columns < 2) return ''
  let used = 1
  let start = chars.length
  while (start > 0 && used + width(chars[start - 1] as string) <= columns) used += width(chars[--start] as string)
  return `…${chars.slice(start).join('')}`
}
