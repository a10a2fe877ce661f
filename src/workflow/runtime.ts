import { randomUUID } from 'node:crypto'
import { performance } from 'node:perf_hooks'
import type { z } from 'zod'
import { NexflowError, serializeError, ValidationError, WorkflowAbortedError, WorkflowExecutionError, type SerializedError } from '../errors.js'
import { getPath } from './dotted-path.js'
import { defaultRegistry } from './default-registry.js'
import type { NodeContext, NodeDefinition, NodeOutput } from './node.js'
import { validateCallerInputs } from './caller-inputs.js'
import { isOptionalParam } from './param-schema.js'
import type { WorkflowNodeJson } from '../protocol/workflow-json.js'
import type { NodeRegistry } from './registry.js'
import { renderSite, setAt, type TemplateSite } from './template.js'
import type { Workflow } from './workflow.js'

export interface ExecuteOptions {
  /**
   * Workflow inputs. A key naming a node whose value is an object gives that node's own inputs
   * (`{ fetch: { url } }`); every other key is a workflow-level input, used by templates and
   * injected into each node that declares a param of that name.
   */
  parameters?: Record<string, unknown>
  /** Aborting it stops the run with `WORKFLOW_ABORTED`. */
  signal?: AbortSignal
  /** Stops the run with `WORKFLOW_TIMEOUT` after this long. */
  timeoutMs?: number
  runId?: string
  /**
   * Who gave `parameters`. `local` (default): the app's own code, with the source system's
   * semantics (node-specific inputs, injection into every node declaring a param of that name).
   * `remote`: an untrusted caller (HTTP, MCP, CLI): parameters must be the workflow's declared
   * inputs and nothing else (see `validateCallerInputs`), are never split per node, and fill only
   * templates and required params the author left unset; a param the author set is never replaced.
   */
  caller?: 'local' | 'remote'
  /** Told as each node starts and finishes (a streamed run's progress); see {@link RunObserver}. */
  observer?: RunObserver
}

/** How a node that ran ended, as an observer hears it. */
export type NodeOutcome = { ok: true; output: NodeOutput } | { ok: false; error: unknown }

/**
 * Hears a run's progress. Called synchronously from the scheduler, so it must be quick (post a
 * message, push to a queue); what it throws is ignored: watching a run never changes it. Nothing
 * is reported once the run has ended (failed, aborted, timed out).
 */
export interface RunObserver {
  nodeStarted(nodeId: string, type: string): void
  /** `ms` from the node's start; a node that returned `success: false` is `ok: true` with that output. */
  nodeFinished(nodeId: string, ms: number, outcome: NodeOutcome): void
}

export interface ExecutionResult {
  runId: string
  /** Output per node id. A failed leaf is `{ error, errorType, failed: true }`; skipped branches are absent. */
  results: Record<string, NodeOutput>
  /** False when any node failed (a failed leaf is recorded in `results` and the run carries on). */
  ok: boolean
  /** Ids of the nodes that failed, in the order they failed. */
  failed: string[]
}

export interface LocalRuntimeOptions {
  registry?: NodeRegistry
}

/** The record a failed leaf node leaves in the results instead of failing the run. */
export interface FailedNodeOutput {
  error: string
  errorType: string
  /** The error's code, when it had one: nexflow's (`CONFLICT`, `RECORD_NOT_FOUND`, ...) or its own (`SQLITE_BUSY`, `ECONNREFUSED`). */
  code?: string
  /** Where it was thrown (the server shows it only in development). */
  stack?: string
  /** What it was thrown for (`new Error(message, { cause })`), serialized, a few levels deep. */
  cause?: SerializedError
  failed: true
  [key: string]: unknown
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value)
}

/** Splits run parameters into workflow-level inputs and node-specific ones. */
function splitParameters(workflow: Workflow, parameters: Record<string, unknown>) {
  const shared: Record<string, unknown> = {}
  const perNode = new Map<string, Record<string, unknown>>()
  for (const [key, value] of Object.entries(parameters)) {
    if (isPlainObject(value) && workflow.node(key) !== undefined) perNode.set(key, value)
    else shared[key] = value
  }
  return { shared, perNode }
}

/**
 * Runs workflows in the current thread. Independent branches run concurrently: a node starts as
 * soon as every node it depends on has finished.
 */
export class LocalRuntime {
  readonly #registry: NodeRegistry

  constructor(options: LocalRuntimeOptions = {}) {
    this.#registry = options.registry ?? defaultRegistry()
  }

  async execute(workflow: Workflow, options: ExecuteOptions = {}): Promise<ExecutionResult> {
    const runId = options.runId ?? randomUUID()
    const compiled = this.#compiled(workflow)
    const caller = options.caller ?? 'local'
    const parameters = caller === 'remote' ? validateCallerInputs(workflow.name, workflow.inputSchema, options.parameters ?? {}) : (options.parameters ?? {})
    const baseParams = prepareParams(workflow, compiled, parameters, caller)
    return new Run(workflow, compiled.definitions, baseParams, runId, options).start()
  }

  /**
   * The workflow's nodes compiled against the types registered now. Types are looked up on every
   * run (a type may be replaced, as a reloaded model's are), and the compiled form is reused for as
   * long as each lookup finds the definition it was compiled with.
   */
  #compiled(workflow: Workflow): CompiledWorkflow {
    let byRegistry = compiledWorkflows.get(workflow)
    if (byRegistry === undefined) compiledWorkflows.set(workflow, (byRegistry = new WeakMap()))
    const cached = byRegistry.get(this.#registry)
    const nodes = workflow.nodes
    let current = cached !== undefined
    for (let i = 0; i < nodes.length; i++) {
      const definition = this.#registry.require((nodes[i] as WorkflowNodeJson).type)
      if (current && cached?.nodes[i]?.definition !== definition) current = false
    }
    if (current) return cached as CompiledWorkflow
    const compiled = compileWorkflow(workflow, this.#registry)
    byRegistry.set(this.#registry, compiled)
    return compiled
  }
}

/** What preparing one node's params needs, worked out once per workflow and set of definitions. */
interface CompiledNode {
  readonly node: Readonly<WorkflowNodeJson>
  readonly definition: NodeDefinition
  /** Params whose config value is an object or array: copied deeply per run, since templates write into them. */
  readonly nested: readonly string[]
  readonly sites: readonly CompiledSite[]
  /** Declared params a workflow-level input may fill, for each kind of caller (see {@link prepareParams}). */
  readonly injected: { readonly local: readonly string[]; readonly remote: readonly string[] }
}

interface CompiledSite {
  readonly site: TemplateSite
  readonly param: string
  /** The template is the whole param and the param may be left out: a missing input drops it. */
  readonly droppable: boolean
}

interface CompiledWorkflow {
  readonly nodes: readonly CompiledNode[]
  readonly definitions: ReadonlyMap<string, NodeDefinition>
}

/** Compiled forms by workflow, then by registry (a workflow may run on several runtimes). */
const compiledWorkflows = new WeakMap<Workflow, WeakMap<NodeRegistry, CompiledWorkflow>>()

function compileWorkflow(workflow: Workflow, registry: NodeRegistry): CompiledWorkflow {
  const nodes: CompiledNode[] = []
  const definitions = new Map<string, NodeDefinition>()
  for (const node of workflow.nodes) {
    const definition = registry.require(node.type)
    definitions.set(node.id, definition)
    const shape: Record<string, z.core.$ZodType> = definition.params.shape
    const sites: CompiledSite[] = []
    for (const site of workflow.plan.templates.get(node.id) ?? []) {
      const param = String(site.path[0])
      if (definition.literalParams.includes(param)) continue
      const field = shape[param]
      sites.push({ site, param, droppable: field !== undefined && site.path.length === 1 && isOptionalParam(field) })
    }
    const local = Object.keys(shape)
    const remote = local.filter((key) => !(Object.hasOwn(node.params, key) || isOptionalParam(shape[key] as z.core.$ZodType) || definition.literalParams.includes(key)))
    const nested = Object.keys(node.params).filter((key) => {
      const value = node.params[key]
      return value !== null && typeof value === 'object'
    })
    nodes.push({ node, definition, nested, sites, injected: { local, remote } })
  }
  return { nodes, definitions }
}

/**
 * Node params before connections, by precedence node-specific > workflow-level > config. Every
 * template is rendered here, so a missing input fails the run before any node has run.
 */
function prepareParams(workflow: Workflow, compiled: CompiledWorkflow, parameters: Record<string, unknown>, caller: 'local' | 'remote'): Map<string, Record<string, unknown>> {
  const { shared, perNode } = caller === 'remote' ? { shared: parameters, perNode: undefined } : splitParameters(workflow, parameters)
  const prepared = new Map<string, Record<string, unknown>>()
  for (const { node, nested, sites, injected } of compiled.nodes) {
    const own = perNode?.get(node.id)
    const templateInputs = own === undefined ? shared : { ...shared, ...own }
    // The config is frozen and shared by every run: a shallow copy, and a deep one of each
    // object or array param, since templates write into them and a node may change its params.
    const params: Record<string, unknown> = { ...node.params }
    for (const key of nested) params[key] = structuredClone(params[key])
    for (const { site, param, droppable } of sites) {
      if (!Object.hasOwn(params, param)) continue // an earlier site dropped this optional param
      const rendered = renderSite(site, templateInputs)
      if (rendered.ok) {
        if (caller === 'remote' && site.path.length > 1 && isPlainObject(rendered.value)) {
          // A template inside a param the author shaped (a filter) fills a value, never
          // structure: an object here would be `{ $ne: ... }` turning an equality into a wildcard.
          const message = `Node "${node.id}" param "${site.path.join('.')}" takes a value from input "${site.refs[0] ?? ''}", not an object`
          throw new ValidationError(message, [{ code: 'custom', path: [site.refs[0] ?? ''], message, input: undefined }], { details: { nodeId: node.id, param } })
        }
        setAt(params, site.path, rendered.value)
        continue
      }
      // Only a template that is the whole param may be left out (its default applies): dropping
      // a param the author shaped around a missing input (a filter) would widen what it does.
      if (droppable) {
        delete params[param]
        continue
      }
      throw new NexflowError('MISSING_INPUT', `Node "${node.id}" param "${param}" uses template input "${rendered.missing}", which was not given`, {
        details: { nodeId: node.id, param, input: rendered.missing },
      })
    }
    for (const key of caller === 'remote' ? injected.remote : injected.local) {
      if (Object.hasOwn(shared, key)) params[key] = shared[key]
    }
    if (own !== undefined) Object.assign(params, own)
    prepared.set(node.id, params)
  }
  return prepared
}

type NodeState = 'waiting' | 'running' | 'done' | 'skipped'

/** One execution: the scheduler's mutable state, kept apart from the reusable runtime. */
class Run {
  readonly #results: Record<string, NodeOutput> = {}
  readonly #state = new Map<string, NodeState>()
  readonly #pending = new Map<string, number>()
  // Made on the first read of a node's `context.signal`: most nodes never read it, and an
  // AbortSignal costs more than scheduling a one-node run.
  #controller: AbortController | undefined
  #failure: { error: unknown } | undefined
  readonly #failed: string[] = []
  #deadline: number | undefined
  #running = 0
  #settled = false
  #resolve!: (result: ExecutionResult) => void
  #reject!: (error: unknown) => void

  constructor(
    readonly workflow: Workflow,
    readonly definitions: ReadonlyMap<string, NodeDefinition>,
    readonly baseParams: Map<string, Record<string, unknown>>,
    readonly runId: string,
    readonly options: ExecuteOptions,
  ) {}

  start(): Promise<ExecutionResult> {
    const done = new Promise<ExecutionResult>((resolve, reject) => {
      this.#resolve = resolve
      this.#reject = reject
    })
    const cleanup = this.#watchForAbort()
    const { plan } = this.workflow
    for (const id of plan.order) {
      this.#state.set(id, 'waiting')
      this.#pending.set(id, plan.dependencies.get(id) ?? 0)
    }
    if (!this.#settled) {
      for (const id of plan.order) if (this.#pending.get(id) === 0) this.#launch(id)
      this.#finishIfIdle()
    }
    return done.finally(cleanup)
  }

  #watchForAbort(): () => void {
    const { signal, timeoutMs } = this.options
    const onAbort = () => this.#fail(new WorkflowAbortedError('WORKFLOW_ABORTED', `Workflow "${this.workflow.name}" run ${this.runId} was aborted`, { cause: signal?.reason }))
    let timer: NodeJS.Timeout | undefined
    if (timeoutMs !== undefined) {
      this.#deadline = performance.now() + timeoutMs
      timer = setTimeout(() => this.#fail(this.#timeoutError()), timeoutMs)
    }
    if (signal?.aborted) onAbort()
    else signal?.addEventListener('abort', onAbort, { once: true })
    return () => {
      clearTimeout(timer)
      signal?.removeEventListener('abort', onAbort)
    }
  }

  #timeoutError(): WorkflowAbortedError {
    const { timeoutMs } = this.options
    return new WorkflowAbortedError('WORKFLOW_TIMEOUT', `Workflow "${this.workflow.name}" run ${this.runId} timed out after ${timeoutMs} ms`, { details: { timeoutMs } })
  }

  /**
   * Synchronous code cannot be interrupted in this thread: a node that blocks past the deadline
   * returns before the timer can fire. Its result is then not taken as a success.
   */
  #overDeadline(): boolean {
    if (this.#deadline === undefined || performance.now() <= this.#deadline) return false
    this.#fail(this.#timeoutError())
    return true
  }

  #fail(error: unknown): void {
    if (this.#settled) return
    this.#settled = true
    // Running nodes see this signal and can stop their own I/O; the run does not wait for them.
    this.#failure = { error }
    this.#controller?.abort(error)
    this.#reject(error)
  }

  #finishIfIdle(): void {
    if (this.#settled || this.#running > 0) return
    this.#settled = true
    this.#resolve({ runId: this.runId, results: this.#results, ok: this.#failed.length === 0, failed: [...this.#failed] })
  }

  #signal(): AbortSignal {
    if (this.#controller === undefined) {
      this.#controller = new AbortController()
      if (this.#failure !== undefined) this.#controller.abort(this.#failure.error)
    }
    return this.#controller.signal
  }

  #observe(report: (observer: RunObserver) => void): void {
    const { observer } = this.options
    if (observer === undefined || this.#settled) return
    try {
      report(observer)
    } catch {
      // An observer's failure is its own: the run carries on.
    }
  }

  #launch(id: string): void {
    const incoming = this.workflow.plan.incoming.get(id) ?? []
    const inputs: Record<string, unknown> = {}
    let active = incoming.length === 0
    for (const c of incoming) {
      if (this.#state.get(c.from) === 'skipped') continue
      const value = getPath(this.#results[c.from], c.fromPath)
      if (value === undefined && (this.definitions.get(c.from) as NodeDefinition).conditionalOutputs) continue
      active = true
      inputs[c.toInput] = value
    }
    if (!active) {
      this.#complete(id, 'skipped')
      return
    }
    this.#state.set(id, 'running')
    this.#running++
    // Only a watched run reads the clock per node.
    const started = this.options.observer === undefined ? 0 : performance.now()
    this.#observe((observer) => observer.nodeStarted(id, (this.definitions.get(id) as NodeDefinition).type))
    this.#runNode(id, inputs).then(
      (output) => {
        this.#running--
        if (this.#settled || this.#overDeadline()) return
        this.#observe((observer) => observer.nodeFinished(id, performance.now() - started, { ok: true, output }))
        if (output.success === false) {
          const reason = typeof output.error === 'string' ? `: ${output.error}` : ''
          this.#results[id] = output
          this.#fail(new WorkflowExecutionError(id, `Node "${id}" returned success: false${reason}; the run stopped`, this.#results, { details: { output } }))
          return
        }
        this.#results[id] = output
        this.#complete(id, 'done')
        this.#finishIfIdle()
      },
      (error: unknown) => {
        this.#running--
        if (this.#settled || this.#overDeadline()) return
        this.#observe((observer) => observer.nodeFinished(id, performance.now() - started, { ok: false, error }))
        const definition = this.definitions.get(id) as NodeDefinition
        const message = error instanceof Error ? error.message : String(error)
        if ((this.workflow.plan.outgoing.get(id) ?? []).length > 0) {
          this.#fail(new WorkflowExecutionError(id, `Node "${id}" (${definition.type}) failed: ${message}`, this.#results, { cause: error }))
          return
        }
        const failed: FailedNodeOutput = { error: message, errorType: error instanceof Error ? error.name : typeof error, failed: true }
        const serialized = serializeError(error)
        if (serialized.code !== undefined) failed.code = serialized.code
        if (serialized.stack !== undefined) failed.stack = serialized.stack
        if (serialized.cause !== undefined) failed.cause = serialized.cause
        this.#results[id] = failed
        this.#failed.push(id)
        this.#complete(id, 'done')
        this.#finishIfIdle()
      },
    )
  }

  // Never finishes the run itself: skipping cascades synchronously, and the run may only end once
  // every launch this completion causes has happened.
  #complete(id: string, state: 'done' | 'skipped'): void {
    this.#state.set(id, state)
    for (const next of this.workflow.plan.outgoing.get(id) ?? []) {
      const left = (this.#pending.get(next) ?? 0) - 1
      this.#pending.set(next, left)
      if (left === 0 && !this.#settled) this.#launch(next)
    }
  }

  async #runNode(id: string, inputs: Record<string, unknown>): Promise<NodeOutput> {
    const definition = this.definitions.get(id) as NodeDefinition
    const raw = { ...this.baseParams.get(id), ...inputs }
    const parsed = definition.params.safeParse(raw)
    if (!parsed.success) {
      const detail = parsed.error.issues.map((issue) => `param "${issue.path.join('.') || '(params)'}": ${issue.message}`).join('; ')
      throw new ValidationError(`Node "${id}" (${definition.type}) got invalid params: ${detail}`, parsed.error.issues, { details: { nodeId: id } })
    }
    const signal = () => this.#signal()
    // An own getter, so a node that spreads its context still passes the signal on.
    const context: NodeContext = {
      nodeId: id,
      runId: this.runId,
      workflowName: this.workflow.name,
      get signal() {
        return signal()
      },
    }
    const output: unknown = await definition.run(parsed.data, context)
    if (!isPlainObject(output)) {
      throw new NexflowError('WORKFLOW_EXECUTION_FAILED', `Node "${id}" (${definition.type}) returned ${output === null ? 'null' : typeof output}; a node returns a plain object`)
    }
    return output
  }
}
