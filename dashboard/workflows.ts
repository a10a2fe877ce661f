import { ApiError, getJson, request, type ErrorBody } from './api.js'
import { formatMs, h, pretty } from './dom.js'
import { drawGraph, type GraphEdge, type GraphNode } from './graph.js'
import { SchemaForm, type JsonSchema } from './schema-form.js'

/** A workflow as `GET /workflows` lists it. */
export interface WorkflowSummary {
  name: string
  description?: string
  version: string
  input_schema: JsonSchema
  source: { kind: 'discovered'; file: string; export: string } | { kind: 'registered'; runs_in: string }
  endpoints: { execute: string; info: string }
  stale?: true
  stale_reason?: string
}

interface WorkflowInfo {
  nodes: GraphNode[]
  edges: GraphEdge[]
}

function sourceText(workflow: WorkflowSummary): string {
  return workflow.source.kind === 'discovered' ? `${workflow.source.file} (export ${workflow.source.export})` : `registered by the app (runs in ${workflow.source.runs_in})`
}

/** Shows a run's answer: the outputs, or the error with its status code, code, failed node and message. */
function showAnswer(target: HTMLElement, form: SchemaForm, status: number, body: unknown, ms: number): void {
  if (status < 400) {
    const ok = body as { outputs: unknown; run_id: string }
    target.replaceChildren(h('div', { class: 'result-ok', 'data-result': 'ok' }, h('strong', {}, `${status} OK`), ` in ${formatMs(ms)} · run ${ok.run_id}`, h('pre', { class: 'outputs' }, pretty(ok.outputs))))
    return
  }
  const error = (body as ErrorBody | undefined)?.error ?? {}
  const details = error.details ?? {}
  const node = typeof details.nodeId === 'string' ? details.nodeId : undefined
  const issues = Array.isArray(details.issues) ? (details.issues as { path?: unknown[]; message?: string }[]) : []
  if (status === 400) form.showIssues(error.message ?? 'invalid inputs', issues)
  target.replaceChildren(
    h(
      'div',
      { class: 'result-error', 'data-result': 'error' },
      h('strong', {}, `${status} ${error.code ?? ''}`),
      node === undefined ? null : h('div', {}, 'Failed node: ', h('code', {}, node)),
      h('div', { class: 'error-message' }, error.message ?? ''),
      typeof details.stack === 'string' ? h('pre', {}, details.stack) : null,
    ),
  )
}

function workflowCard(workflow: WorkflowSummary, onRun: () => void): HTMLElement {
  const graph = h('div', { class: 'graph-box' }, h('p', { class: 'muted' }, 'Loading the graph…'))
  const result = h('div', { class: 'run-result', 'aria-live': 'polite' })
  const form = new SchemaForm(workflow.name, workflow.input_schema, (inputs) => {
    form.clearErrors()
    result.replaceChildren(h('p', { class: 'muted' }, 'Running…'))
    const started = performance.now()
    request(workflow.endpoints.execute, { method: 'POST', body: { inputs } })
      .then(({ status, body }) => showAnswer(result, form, status, body, performance.now() - started))
      .catch((error: unknown) => result.replaceChildren(h('div', { class: 'result-error' }, String(error))))
      .finally(onRun)
  })
  const card = h(
    'details',
    { class: 'workflow', 'data-workflow': workflow.name },
    h('summary', {}, workflow.name, h('small', {}, workflow.description ?? ''), workflow.stale === true ? h('small', { class: 'field-error' }, `stale: ${workflow.stale_reason ?? ''}`) : null),
    h('div', { class: 'workflow-body' }, h('div', {}, h('div', { class: 'muted' }, sourceText(workflow)), graph), h('div', {}, form.element, result)),
  )
  // The graph is fetched the first time the card opens: a page of many workflows asks for none up front.
  card.addEventListener(
    'toggle',
    () => {
      getJson<WorkflowInfo>(workflow.endpoints.info)
        .then((info) => graph.replaceChildren(h('div', { class: 'muted' }, `${info.nodes.length} nodes, ${info.edges.length} edges`), drawGraph(info.nodes, info.edges)))
        .catch((error: unknown) => graph.replaceChildren(h('p', { class: 'field-error' }, error instanceof ApiError ? error.message : String(error))))
    },
    { once: true },
  )
  return card
}

/** The workflows section: one card per workflow served, kept open across refreshes. */
export class WorkflowList {
  readonly #container: HTMLElement
  readonly #onRun: () => void
  #versions = ''

  constructor(container: HTMLElement, onRun: () => void) {
    this.#container = container
    this.#onRun = onRun
  }

  update(workflows: WorkflowSummary[]): void {
    // Redrawn only when the set of workflows or a version changed: an open form keeps what was typed.
    const versions = workflows.map((w) => `${w.name}@${w.version}${w.stale === true ? '!' : ''}`).join(',')
    if (versions === this.#versions) return
    this.#versions = versions
    const open = new Set([...this.#container.querySelectorAll<HTMLDetailsElement>('details.workflow[open]')].map((d) => d.dataset.workflow))
    const cards = workflows.map((workflow) => {
      const card = workflowCard(workflow, this.#onRun)
      if (open.has(workflow.name)) (card as HTMLDetailsElement).open = true
      return card
    })
    this.#container.replaceChildren(...(cards.length === 0 ? [h('p', { class: 'muted' }, 'No workflows served yet.')] : cards))
  }
}
