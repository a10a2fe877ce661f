import { apiKey, getJson, readEvents, setApiKey, Unauthorized } from './api.js'
import { byId } from './dom.js'
import { renderRuns, type RunRecord } from './runs.js'
import { renderSummary, type Health } from './summary.js'
import { Waterfall, type DiscoverySnapshot } from './waterfall.js'
import { WorkflowList, type WorkflowSummary } from './workflows.js'

/** The header and the runs table are polled this often; discovery and runs also follow `/events`. */
const POLL_MS = 5000
/** Waits before reconnecting to `/events` after it drops. */
const RECONNECT_MS = 2000

/**
 * The dashboard: reads the API's own JSON (`/health`, `/discovery`, `/workflows`, `/runs`) and
 * follows `/events` to draw discovery live. A 401 anywhere shows the key field instead.
 */
class Dashboard {
  readonly #waterfall = new Waterfall(byId('waterfall'), byId('discovery-state'), byId('file-detail'))
  readonly #workflows = new WorkflowList(byId('workflow-list'), () => this.#later('runs', 100, () => this.#refreshStatus()))
  readonly #runs = byId<HTMLTableElement>('run-table').tBodies[0] as HTMLTableSectionElement
  readonly #timers = new Map<string, number>()
  #events: AbortController | undefined
  #poll: number | undefined

  async start(): Promise<void> {
    try {
      await Promise.all([this.#refreshDiscovery(), this.#refreshWorkflows(), this.#refreshStatus()])
    } catch (error) {
      if (error instanceof Unauthorized) return this.#askForKey(apiKey() !== null)
      // The server is restarting or unreachable: say so, and try again.
      byId('main').hidden = false
      byId('discovery-state').textContent = `The server did not answer (${error instanceof Error ? error.message : String(error)}); trying again…`
      window.setTimeout(() => void this.start(), RECONNECT_MS)
      return
    }
    byId('login').hidden = true
    byId('main').hidden = false
    document.body.dataset.ready = 'true'
    this.#follow()
    this.#poll ??= window.setInterval(() => void this.#refreshStatus().catch((error: unknown) => this.#failed(error)), POLL_MS)
  }

  #askForKey(refused: boolean): void {
    this.#events?.abort()
    window.clearInterval(this.#poll)
    this.#poll = undefined
    setApiKey(null)
    byId('main').hidden = true
    const form = byId<HTMLFormElement>('login')
    form.hidden = false
    byId('login-error').textContent = refused ? 'The server did not accept that key.' : ''
    byId<HTMLInputElement>('api-key').focus()
  }

  #failed(error: unknown): void {
    if (error instanceof Unauthorized) this.#askForKey(true)
    else console.error(error)
  }

  /** Runs `task` once, `ms` after the last call with this name: a burst of events makes one request. */
  #later(name: string, ms: number, task: () => Promise<void>): void {
    window.clearTimeout(this.#timers.get(name))
    this.#timers.set(
      name,
      window.setTimeout(() => void task().catch((error: unknown) => this.#failed(error)), ms),
    )
  }

  async #refreshDiscovery(): Promise<void> {
    this.#waterfall.update(await getJson<DiscoverySnapshot>('/discovery'))
  }

  async #refreshWorkflows(): Promise<void> {
    this.#workflows.update((await getJson<{ workflows: WorkflowSummary[] }>('/workflows')).workflows)
  }

  async #refreshStatus(): Promise<void> {
    const [health, runs] = await Promise.all([getJson<Health>('/health'), getJson<{ runs: RunRecord[]; runs_per_minute: number }>('/runs?limit=50')])
    renderSummary(byId('summary'), health, runs.runs_per_minute)
    renderRuns(this.#runs, runs.runs)
  }

  #onEvent(type: string, data: unknown): void {
    const event = data as Record<string, unknown>
    switch (type) {
      case 'file-started':
        this.#waterfall.fileStarted(String(event.path), Number(event.startMs))
        return
      case 'file':
        this.#waterfall.fileSettled(event as Parameters<Waterfall['fileSettled']>[0])
        this.#later('discovery', 250, () => this.#refreshDiscovery())
        this.#later('workflows', 250, () => this.#refreshWorkflows())
        // The header counts files and workflows.
        this.#later('runs', 250, () => this.#refreshStatus())
        return
      case 'reload-started':
        this.#waterfall.reloadStarted()
        return
      case 'reload-finished':
        this.#later('discovery', 0, () => this.#refreshDiscovery())
        this.#later('workflows', 0, () => this.#refreshWorkflows())
        this.#later('runs', 0, () => this.#refreshStatus())
        return
      case 'run':
        this.#later('runs', 100, () => this.#refreshStatus())
        return
      case 'hello':
        // (Re)connected: anything missed while away is in a fresh snapshot.
        this.#later('discovery', 0, () => this.#refreshDiscovery())
        return
    }
  }

  /** Follows `/events` for as long as the page is open, reconnecting after a drop. */
  #follow(): void {
    this.#events?.abort()
    const controller = new AbortController()
    this.#events = controller
    readEvents((type, data) => this.#onEvent(type, data), controller.signal)
      .catch((error: unknown) => {
        if (error instanceof Unauthorized) this.#askForKey(true)
      })
      .finally(() => {
        if (!controller.signal.aborted) window.setTimeout(() => this.#follow(), RECONNECT_MS)
      })
  }
}

const dashboard = new Dashboard()
byId<HTMLFormElement>('login').addEventListener('submit', (event) => {
  event.preventDefault()
  const key = byId<HTMLInputElement>('api-key').value.trim()
  if (key === '') return
  setApiKey(key)
  void dashboard.start()
})
void dashboard.start()
