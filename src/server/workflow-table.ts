import type { FileResult } from '../discovery/index.js'
import { NexflowError } from '../errors.js'
import { sha256 } from '../sha256.js'
import type { WorkflowJson } from '../protocol/workflow-json.js'
import { callerInputSchema } from '../workflow/caller-inputs.js'
import { FunctionNode, HttpRequestNode, MergeNode, SwitchNode } from '../workflow/nodes/index.js'
import type { Workflow } from '../workflow/workflow.js'

/** Workflow names as the source system accepts them. */
const WORKFLOW_NAME = /^[A-Za-z0-9_.-]{1,128}$/

/** Node types every execution worker has without importing anything: a registered workflow made only of them runs in the pool. */
const BUILT_IN_TYPES: ReadonlySet<string> = new Set([FunctionNode.type, HttpRequestNode.type, SwitchNode.type, MergeNode.type])

/** Where a served workflow came from and where it runs. */
export type WorkflowSource =
  | { kind: 'discovered'; file: string; relativePath: string; exportName: string }
  | { kind: 'registered'; runsIn: 'pool' | 'main'; /** Files a worker imports for node types beyond the built-ins. */ modules?: readonly string[] }

/** A workflow the server answers for. */
export interface ServedWorkflow {
  readonly name: string
  readonly description: string
  readonly json: WorkflowJson
  /** What a caller may send: the declared inputs, nothing else. */
  readonly callerSchema: Record<string, unknown>
  /** Short content hash of the workflow's JSON: changes whenever the workflow does. */
  readonly version: string
  readonly source: WorkflowSource
  /** Set for a registered workflow that must run on the main thread. */
  readonly local?: Workflow
  /** For a discovered workflow: the generation of execution workers that imported its file. */
  readonly generation?: number
  /** Its file broke after it was served (development reloads): this is the last good version. */
  readonly stale?: { status: string; message: string }
}

export interface ApplyOptions {
  /** The generation of execution workers that has the file's current content. */
  generation: number
  /** A file that now fails keeps its last good workflows, marked stale (development reloads). */
  keepLastGood?: boolean
}

function versionOf(json: WorkflowJson): string {
  return sha256(JSON.stringify(json)).slice(0, 12)
}

/** Node types that keep a registered workflow on the main thread: every one the workers cannot rebuild from data. */
export function mainThreadTypes(json: WorkflowJson): string[] {
  return [...new Set(json.nodes.map((node) => node.type).filter((type) => !BUILT_IN_TYPES.has(type)))].sort()
}

/** Throws unless `name` is a valid workflow name. */
export function checkWorkflowName(name: string): void {
  if (typeof name !== 'string' || !WORKFLOW_NAME.test(name)) {
    throw new NexflowError('WORKFLOW_INVALID', `Workflow name ${JSON.stringify(name)} is invalid: use 1 to 128 letters, digits, "_", "." or "-"`, { details: { name } })
  }
}

/**
 * The workflows the server serves: those registered by the app and those discovered, one file at
 * a time. A name produced by two discovered exports is served by neither (as in the discovery
 * report); a discovered name the app registered too is not served from the file, and reported.
 */
export class WorkflowTable {
  readonly #registered = new Map<string, ServedWorkflow>()
  /** Each discovered file's workflows, by path; replaced whenever the file is reported again. */
  readonly #byFile = new Map<string, ServedWorkflow[]>()
  /** The discovered exports that produce each name: served only when there is exactly one. */
  readonly #claimants = new Map<string, ServedWorkflow[]>()
  readonly #listeners = new Set<() => void>()

  /** Calls `listener` after every change that may change what is served; returns a function that stops it. */
  onChange(listener: () => void): () => void {
    this.#listeners.add(listener)
    return () => this.#listeners.delete(listener)
  }

  #changed(): void {
    for (const listener of this.#listeners) listener()
  }

  /** Adds an app-registered workflow; a name taken by the app or by a discovered file is a conflict. */
  register(name: string, workflow: Workflow): ServedWorkflow {
    checkWorkflowName(name)
    if (this.#registered.has(name)) {
      throw new NexflowError('WORKFLOW_NAME_CONFLICT', `Workflow "${name}" is already registered; deregister it first, or pick another name`, { details: { name } })
    }
    const file = this.#discoveredFileOf(name)
    if (file !== undefined) {
      throw new NexflowError('WORKFLOW_NAME_CONFLICT', `Workflow "${name}" is already served from ${file}; rename one of them`, { details: { name, file } })
    }
    const json = workflow.toJSON()
    const outside = mainThreadTypes(json)
    const served: ServedWorkflow = {
      name,
      description: json.description,
      json,
      callerSchema: callerInputSchema(json.inputSchema),
      version: versionOf(json),
      source: { kind: 'registered', runsIn: outside.length === 0 ? 'pool' : 'main' },
      ...(outside.length === 0 ? {} : { local: workflow }),
    }
    this.#registered.set(name, served)
    this.#changed()
    return served
  }

  /**
   * Moves a registered workflow that ran on the main thread to the pool, once a worker has shown
   * it can import `modules` and then has every node type. False if `served` is no longer the
   * registered entry (deregistered or replaced meanwhile).
   */
  moveToPool(served: ServedWorkflow, modules: readonly string[]): boolean {
    if (this.#registered.get(served.name) !== served) return false
    const { local: _local, ...rest } = served
    this.#registered.set(served.name, { ...rest, source: { kind: 'registered', runsIn: 'pool', modules } })
    this.#changed()
    return true
  }

  deregister(name: string): boolean {
    const removed = this.#registered.delete(name)
    if (removed) this.#changed()
    return removed
  }

  /** Takes a discovery result (a file may be reported again; the last report wins). */
  applyFile(result: FileResult, options: ApplyOptions): void {
    const previous = this.#byFile.get(result.path) ?? []
    if (result.manifest === undefined && options.keepLastGood === true && previous.length > 0) {
      const stale = { status: result.status, message: result.error?.message ?? result.status }
      this.#replace(result.path, previous.map((workflow) => ({ ...workflow, stale })))
      return
    }
    this.#replace(
      result.path,
      (result.manifest?.workflows ?? []).map(({ name, exportName, workflow }) => ({
        name,
        description: workflow.description,
        json: workflow,
        callerSchema: callerInputSchema(workflow.inputSchema),
        version: versionOf(workflow),
        source: { kind: 'discovered', file: result.path, relativePath: result.relativePath, exportName },
        generation: options.generation,
      })),
    )
  }

  /** Forgets a file that no longer exists: its workflows are no longer served. */
  removeFile(path: string): void {
    if (this.#byFile.has(path)) this.#replace(path, [])
    this.#byFile.delete(path)
  }

  /** Generations of execution workers that served workflows still need. */
  generationsInUse(): Set<number> {
    const used = new Set<number>()
    for (const workflows of this.#byFile.values()) for (const workflow of workflows) if (workflow.generation !== undefined) used.add(workflow.generation)
    return used
  }

  #replace(path: string, served: ServedWorkflow[]): void {
    for (const old of this.#byFile.get(path) ?? []) {
      const left = (this.#claimants.get(old.name) ?? []).filter((claimant) => claimant !== old)
      if (left.length === 0) this.#claimants.delete(old.name)
      else this.#claimants.set(old.name, left)
    }
    for (const workflow of served) this.#claimants.set(workflow.name, [...(this.#claimants.get(workflow.name) ?? []), workflow])
    this.#byFile.set(path, served)
    this.#changed()
  }

  get(name: string): ServedWorkflow | undefined {
    const registered = this.#registered.get(name)
    if (registered !== undefined) return registered
    const claimants = this.#claimants.get(name)
    return claimants?.length === 1 ? claimants[0] : undefined
  }

  /** Every served workflow, sorted by name. */
  list(): ServedWorkflow[] {
    const served = [...this.#registered.values()]
    for (const [name, claimants] of this.#claimants) if (claimants.length === 1 && !this.#registered.has(name)) served.push(claimants[0] as ServedWorkflow)
    return served.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
  }

  /** Discovered workflows not served because the app registered the same name. */
  shadowed(): { name: string; file: string }[] {
    const out: { name: string; file: string }[] = []
    for (const [name, claimants] of this.#claimants) {
      if (!this.#registered.has(name)) continue
      for (const { source } of claimants) if (source.kind === 'discovered') out.push({ name, file: source.relativePath })
    }
    return out
  }

  /** Files execution workers import ahead of runs: discovered files served, and the modules registered workflows need. */
  servedFiles(): string[] {
    const files = new Set<string>()
    for (const workflow of this.list()) {
      if (workflow.source.kind === 'discovered') files.add(workflow.source.file)
      else for (const module of workflow.source.modules ?? []) files.add(module)
    }
    return [...files].sort()
  }

  #discoveredFileOf(name: string): string | undefined {
    const source = this.#claimants.get(name)?.[0]?.source
    return source?.kind === 'discovered' ? source.relativePath : undefined
  }
}
