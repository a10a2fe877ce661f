import { formatMs, h, pretty } from './dom.js'

/** A file as `GET /discovery` lists it. */
export interface DiscoveryFile {
  path: string
  status: string
  cached: boolean
  durationMs: number
  workflows: string[]
  models: string[]
  error?: { message: string; stack?: string; at?: string }
  warnings?: string[]
  imports?: string[]
  slow?: true
  startMs?: number
  endMs?: number
}

/** `GET /discovery`: what the waterfall is drawn from. */
export interface DiscoverySnapshot {
  state: string
  reloading?: true
  durationMs: number
  elapsedMs: number
  timeoutMs: number | null
  files: DiscoveryFile[]
  importing: { path: string; startMs: number }[]
  warnings: string[]
}

/** The statuses a bar can have, in legend order (`cached` and `running` are the page's own). */
export const STATUSES = ['ok', 'empty', 'cached', 'error', 'timeout', 'stuck', 'oom', 'exited', 'crashed', 'invalid', 'conflict', 'running'] as const

interface Row {
  path: string
  /** The file's status, `cached` for a passing file answered from the cache, or `running` while it imports. */
  status: string
  startMs: number
  /** Undefined while running: the bar grows with the clock. */
  endMs: number | undefined
  file: DiscoveryFile | undefined
}

const ROW_PX = 22
/** Rows drawn beyond the visible ones, so a quick scroll shows no gap. */
const OVERSCAN = 8

function statusOf(file: DiscoveryFile): string {
  return file.cached && (file.status === 'ok' || file.status === 'empty') ? 'cached' : file.status
}

/**
 * The discovery waterfall: one row per candidate file on a shared time axis, a bar from when its
 * import began to when it ended, coloured by status, each running or timed-out file's deadline a
 * dashed line. Rows are virtualised (only those in view exist in the DOM) so a thousand files
 * scroll smoothly, and each row's element is kept while it is in view, so a click lands even
 * while bars grow.
 */
export class Waterfall {
  readonly #rows = new Map<string, Row>()
  #order: Row[] = []
  readonly #elements = new Map<string, HTMLElement>()
  readonly #scroll: HTMLElement
  readonly #canvas: HTMLElement
  readonly #axis: HTMLElement
  readonly #state: HTMLElement
  readonly #detail: HTMLElement
  #timeoutMs: number | null = null
  /** `performance.now()` at the start of the discovery run being shown, while it runs. */
  #origin: number | undefined
  #durationMs = 0
  #selected: string | undefined
  #frame: number | undefined

  constructor(container: HTMLElement, state: HTMLElement, detail: HTMLElement) {
    this.#state = state
    this.#detail = detail
    const legend = h('div', { class: 'legend' }, STATUSES.map((status) => h('span', { class: `legend-${status}` }, status)))
    for (const span of legend.children) (span as HTMLElement).style.setProperty('--c', `var(--${span.textContent ?? ''})`)
    this.#canvas = h('div', { class: 'wf-rows', role: 'list' })
    this.#scroll = h('div', { class: 'wf-scroll' }, this.#canvas)
    this.#axis = h('div', { class: 'wf-axis' })
    container.replaceChildren(legend, this.#axis, this.#scroll)
    this.#scroll.addEventListener('scroll', () => this.#schedule())
    this.#canvas.addEventListener('click', (event) => {
      const row = (event.target as Element).closest<HTMLElement>('.wf-row')
      if (row?.dataset.path !== undefined) this.select(row.dataset.path)
    })
    this.#canvas.addEventListener('keydown', (event) => {
      const row = (event.target as Element).closest<HTMLElement>('.wf-row')
      if ((event.key === 'Enter' || event.key === ' ') && row?.dataset.path !== undefined) {
        event.preventDefault()
        this.select(row.dataset.path)
      }
    })
  }

  /** Replaces what is shown with a `/discovery` answer; files begun since it was computed stay. */
  update(snapshot: DiscoverySnapshot): void {
    this.#timeoutMs = snapshot.timeoutMs
    const live = snapshot.state === 'running' || snapshot.reloading === true || snapshot.importing.length > 0
    this.#origin = live ? performance.now() - snapshot.elapsedMs : undefined
    this.#durationMs = snapshot.durationMs
    const kept = [...this.#rows.values()].filter((row) => row.status === 'running' && live)
    this.#rows.clear()
    for (const row of kept) this.#rows.set(row.path, row)
    for (const file of snapshot.files) {
      const start = file.startMs ?? file.endMs ?? 0
      this.#rows.set(file.path, { path: file.path, status: statusOf(file), startMs: start, endMs: file.endMs ?? start, file })
    }
    for (const { path, startMs } of snapshot.importing) this.#rows.set(path, { path, status: 'running', startMs, endMs: undefined, file: undefined })
    this.#state.textContent = this.#stateText(snapshot)
    this.#reorder()
  }

  /** A development reload began: a new run, with its own time axis. */
  reloadStarted(): void {
    this.#rows.clear()
    this.#origin = performance.now()
    this.#state.textContent = 'Reloading…'
    this.#reorder()
  }

  /** A worker began importing `path` (`file-started`). */
  fileStarted(path: string, startMs: number): void {
    this.#origin ??= performance.now() - startMs
    this.#rows.set(path, { path, status: 'running', startMs, endMs: undefined, file: this.#rows.get(path)?.file })
    this.#reorder()
  }

  /** A file was settled (`file`); its details come with the next `/discovery`. */
  fileSettled(event: { path: string; status: string; cached: boolean; startMs?: number; endMs?: number; error?: string }): void {
    const start = event.startMs ?? this.#rows.get(event.path)?.startMs ?? 0
    const previous = this.#rows.get(event.path)?.file
    const file: DiscoveryFile = { workflows: [], models: [], durationMs: 0, ...previous, path: event.path, status: event.status, cached: event.cached, ...(event.error === undefined ? {} : { error: { message: event.error } }) }
    this.#rows.set(event.path, { path: event.path, status: statusOf(file), startMs: start, endMs: event.endMs ?? start, file })
    this.#reorder()
  }

  get size(): number {
    return this.#rows.size
  }

  select(path: string): void {
    this.#selected = path
    for (const [key, element] of this.#elements) element.classList.toggle('selected', key === path)
    this.#renderDetail()
  }

  #stateText(snapshot: DiscoverySnapshot): string {
    const counts = new Map<string, number>()
    for (const file of snapshot.files) counts.set(file.status, (counts.get(file.status) ?? 0) + 1)
    const summary = [...counts].map(([status, count]) => `${count} ${status}`).join(', ')
    const deadline = snapshot.timeoutMs === null ? '' : `; deadline ${formatMs(snapshot.timeoutMs)} per file`
    if (snapshot.state === 'off') return 'Discovery is off: the server serves only the workflows the app registers.'
    if (snapshot.state === 'running' || snapshot.reloading === true) return `${snapshot.reloading === true ? 'Reloading' : 'Discovering'}: ${snapshot.files.length} files settled, ${snapshot.importing.length} importing${deadline}`
    return `${snapshot.files.length} files in ${formatMs(snapshot.durationMs)}${summary === '' ? '' : ` (${summary})`}${deadline}`
  }

  /** Waterfall order: by start, then path. */
  #reorder(): void {
    this.#order = [...this.#rows.values()].sort((a, b) => a.startMs - b.startMs || (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))
    this.#canvas.style.height = `${this.#order.length * ROW_PX}px`
    this.#schedule()
    if (this.#selected !== undefined) this.#renderDetail()
  }

  #now(): number | undefined {
    return this.#origin === undefined ? undefined : performance.now() - this.#origin
  }

  #running(): boolean {
    return this.#order.some((row) => row.endMs === undefined)
  }

  #schedule(): void {
    if (this.#frame !== undefined) return
    this.#frame = requestAnimationFrame(() => {
      this.#frame = undefined
      this.#render()
      // While a file imports its bar grows: draw again next frame.
      if (this.#running()) this.#schedule()
    })
  }

  #axisMs(now: number | undefined): number {
    let max = this.#durationMs
    for (const row of this.#order) {
      max = Math.max(max, row.endMs ?? now ?? row.startMs)
      // A file still importing: the axis reaches its deadline, so its bar visibly approaches it.
      if (row.endMs === undefined && this.#timeoutMs !== null) max = Math.max(max, row.startMs + this.#timeoutMs)
    }
    return Math.max(max, 1) * 1.02
  }

  #render(): void {
    const now = this.#now()
    const axis = this.#axisMs(now)
    this.#axis.replaceChildren(...[0, 0.25, 0.5, 0.75, 1].map((f) => h('span', {}, formatMs(axis * f))))
    const top = this.#scroll.scrollTop
    const height = this.#scroll.clientHeight || 400
    const first = Math.max(0, Math.floor(top / ROW_PX) - OVERSCAN)
    const last = Math.min(this.#order.length, Math.ceil((top + height) / ROW_PX) + OVERSCAN)
    const visible = new Set<string>()
    for (let index = first; index < last; index++) {
      const row = this.#order[index] as Row
      visible.add(row.path)
      this.#draw(row, index, axis, now)
    }
    for (const [path, element] of this.#elements) {
      if (visible.has(path)) continue
      element.remove()
      this.#elements.delete(path)
    }
  }

  #draw(row: Row, index: number, axis: number, now: number | undefined): void {
    let element = this.#elements.get(row.path)
    if (element === undefined) {
      element = h(
        'div',
        { class: 'wf-row', role: 'listitem', tabindex: 0, 'data-path': row.path },
        h('span', { class: 'wf-name', title: row.path }, row.path),
        h('div', { class: 'wf-track' }, h('div', { class: 'wf-bar' }), h('div', { class: 'wf-deadline', hidden: true })),
      )
      this.#elements.set(row.path, element)
      this.#canvas.append(element)
    }
    element.classList.toggle('selected', row.path === this.#selected)
    element.dataset.status = row.status
    element.style.top = `${index * ROW_PX}px`
    const end = row.endMs ?? Math.max(now ?? row.startMs, row.startMs)
    const bar = element.querySelector<HTMLElement>('.wf-bar') as HTMLElement
    bar.className = `wf-bar s-${row.status}`
    bar.style.left = `${(row.startMs / axis) * 100}%`
    bar.style.width = `${((end - row.startMs) / axis) * 100}%`
    bar.dataset.startMs = String(Math.round(row.startMs))
    bar.dataset.endMs = String(Math.round(end))
    bar.title = `${row.status}: ${formatMs(end - row.startMs)} (from ${formatMs(row.startMs)})`
    const deadline = element.querySelector<HTMLElement>('.wf-deadline') as HTMLElement
    const showDeadline = this.#timeoutMs !== null && ['running', 'timeout', 'stuck'].includes(row.status)
    deadline.hidden = !showDeadline
    if (showDeadline) {
      const at = row.startMs + (this.#timeoutMs ?? 0)
      deadline.style.left = `${(at / axis) * 100}%`
      deadline.dataset.deadlineMs = String(Math.round(at))
      deadline.title = `deadline: ${formatMs(this.#timeoutMs ?? 0)} after its import began`
    }
  }

  #renderDetail(): void {
    const row = this.#selected === undefined ? undefined : this.#rows.get(this.#selected)
    if (row === undefined) {
      this.#detail.replaceChildren()
      return
    }
    const file = row.file
    const now = this.#now()
    const list = (title: string, items: readonly string[] | undefined) => (items === undefined || items.length === 0 ? null : h('div', {}, h('strong', {}, `${title}: `), items.join(', ')))
    const timing =
      row.endMs === undefined
        ? `importing for ${formatMs((now ?? row.startMs) - row.startMs)}${this.#timeoutMs === null ? '' : ` (deadline ${formatMs(this.#timeoutMs)})`}`
        : `${formatMs(file?.durationMs ?? row.endMs - row.startMs)}, from ${formatMs(row.startMs)} to ${formatMs(row.endMs)}${file?.cached === true ? ' (from the cache)' : ''}`
    this.#detail.replaceChildren(
      h(
        'div',
        { class: 'detail', 'data-detail': row.path },
        h('h3', {}, row.path, ' ', h('span', { class: `status s-${row.status}` }, row.status)),
        h('div', {}, timing),
        list('Workflows', file?.workflows),
        list('Models', file?.models),
        list('Imports', file?.imports),
        file?.warnings !== undefined && file.warnings.length > 0 ? h('div', {}, h('strong', {}, 'Warnings'), h('ul', {}, file.warnings.map((warning) => h('li', {}, warning)))) : null,
        file?.error === undefined
          ? null
          : h('div', { class: 'file-error' }, h('strong', {}, 'Error: '), h('span', { class: 'error-message' }, file.error.message), file.error.at === undefined ? null : h('div', { class: 'muted' }, `at ${file.error.at}`), file.error.stack === undefined ? null : h('pre', { class: 'error-stack' }, file.error.stack)),
        file === undefined && row.endMs !== undefined ? h('pre', {}, pretty(row)) : null,
      ),
    )
  }
}
