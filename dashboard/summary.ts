import { h } from './dom.js'

/** `GET /health`, as the header reads it. */
export interface Health {
  status: string
  uptime_s: number
  workflows: number
  discovery: { state: string; files: number; by_status: Record<string, number> }
  pool: { size: number; busy: number; queued: number } | null
  runs_in_flight: number
}

function uptime(seconds: number): string {
  if (seconds < 60) return `${seconds} s`
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ${seconds % 60} s`
  return `${Math.floor(seconds / 3600)} h ${Math.floor((seconds % 3600) / 60)} min`
}

/** The summary header: uptime, workflows served, files by status, pool size and busy workers, runs per minute. */
export function renderSummary(target: HTMLElement, health: Health, runsPerMinute: number): void {
  const byStatus = Object.entries(health.discovery.by_status)
    .map(([status, count]) => `${count} ${status}`)
    .join(', ')
  const item = (label: string, value: string, key: string) => h('div', { 'data-summary': key }, h('dt', {}, label), h('dd', {}, value))
  target.replaceChildren(
    item('Uptime', uptime(health.uptime_s), 'uptime'),
    item('Workflows', String(health.workflows), 'workflows'),
    item('Files', `${health.discovery.files}${byStatus === '' ? '' : ` (${byStatus})`}`, 'files'),
    item('Pool', health.pool === null ? 'starting' : `${health.pool.busy} busy of ${health.pool.size}${health.pool.queued > 0 ? `, ${health.pool.queued} queued` : ''}`, 'pool'),
    item('Runs / min', String(runsPerMinute), 'runs-per-minute'),
  )
}
