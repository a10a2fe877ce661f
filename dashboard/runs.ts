import type { RunRecord } from '../src/protocol/run-record.js'
import { formatMs, h, pretty } from './dom.js'

export type { RunRecord }

/** The recent runs table, newest first. */
export function renderRuns(body: HTMLTableSectionElement, runs: RunRecord[]): void {
  if (runs.length === 0) {
    body.replaceChildren(h('tr', {}, h('td', { colspan: 7, class: 'muted' }, 'No runs yet: run a workflow from its form above.')))
    return
  }
  body.replaceChildren(
    ...runs.map((run) =>
      h(
        'tr',
        { 'data-run': run.run_id, 'data-status': run.status },
        h('td', { title: run.started_at }, new Date(run.started_at).toLocaleTimeString()),
        h('td', {}, run.workflow),
        h('td', {}, run.mode),
        h('td', {}, h('span', { class: `status s-${run.status === 'completed' ? 'ok' : 'error'}` }, run.status)),
        h('td', {}, formatMs(run.duration_ms)),
        h('td', {}, h('pre', {}, pretty(run.inputs, 600))),
        h('td', {}, run.error === undefined ? h('pre', {}, pretty(run.outputs, 600)) : h('div', { class: 'field-error' }, `${run.error.code ?? ''}${run.error.node === undefined ? '' : ` (node ${run.error.node})`}: ${run.error.message}`)),
      ),
    ),
  )
}
