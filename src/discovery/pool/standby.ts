import { statSync } from 'node:fs'
import { projectTsconfig } from '../project-files.js'
import type { ResolvedDiscoveryOptions } from '../options.js'
import { poolInit } from '../run.js'
import type { Isolate, IsolateEvents, IsolateExit, IsolateFactory, IsolateSpec } from './isolate.js'
import { isolateFactory, isolateSpec } from './pool.js'
import { workerFiles } from './worker-files.js'

/** What a worker's boot depends on besides its spec: tsx reads the tsconfig when it registers. */
function bootFingerprint(spec: IsolateSpec): string {
  const { tsconfig } = spec.init
  let tsconfigStamp = 'none'
  if (tsconfig !== undefined) {
    try {
      const stat = statSync(tsconfig)
      tsconfigStamp = `${stat.size}:${stat.mtimeMs}`
    } catch {
      tsconfigStamp = 'missing'
    }
  }
  return `${JSON.stringify(spec)}\n${tsconfigStamp}`
}

/**
 * One discovery worker started ahead of the run that will need it. A worker spends most of a
 * small development reload booting (a thread loading tsx and nexflow, about a second from a
 * checkout under load, against tens of milliseconds importing the saved file), so `nexflow dev`
 * keeps one booted between reloads, and the next run's first worker is this one.
 *
 * It is handed over only to a run that would have started the very same worker: same spec (root,
 * tsconfig path, limits, worker files) and the tsconfig.json unchanged since it booted. Otherwise
 * it is stopped and the run boots its own. It imports nothing of the user's before it is handed
 * over: the run gives it its first file, as it would a worker it had just started. Events it
 * reports meanwhile (its "ready", or its exit) are kept and delivered, in order, to the run.
 */
export class IsolateStandby {
  readonly #spec: IsolateSpec
  readonly #fingerprint: string
  readonly #isolate: Isolate
  readonly #held: ((events: IsolateEvents) => void)[] = []
  #events: IsolateEvents | undefined
  #exited = false
  #taken = false

  constructor(options: ResolvedDiscoveryOptions) {
    this.#spec = isolateSpec({ maxMemoryMb: options.maxMemoryMb, init: poolInit(options, projectTsconfig(options.root)) }, workerFiles(options.isolation))
    this.#fingerprint = bootFingerprint(this.#spec)
    this.#isolate = isolateFactory(options.isolation)(this.#spec, {
      message: (raw) => this.#deliver((events) => events.message(raw)),
      exit: (exit: IsolateExit) => {
        this.#exited = true
        this.#deliver((events) => events.exit(exit))
      },
    })
    // Idle, it must not keep a closing process alive.
    this.#isolate.unref()
  }

  /** Whether it was handed to a run. */
  get taken(): boolean {
    return this.#taken
  }

  /**
   * A factory that starts a run's first worker from this standby when it matches, and every
   * other worker (or the first, when it does not match) with `fallback`.
   */
  factory(fallback: IsolateFactory): IsolateFactory {
    return (spec, events) => {
      if (this.#taken || this.#exited) return fallback(spec, events)
      if (bootFingerprint(spec) !== this.#fingerprint) {
        this.close()
        return fallback(spec, events)
      }
      this.#taken = true
      this.#isolate.ref()
      // After the factory returns: the slot owns the isolate (and its boot timer) only then.
      queueMicrotask(() => {
        this.#events = events
        for (const deliver of this.#held.splice(0)) deliver(events)
      })
      return this.#isolate
    }
  }

  /** Stops the worker unless a run has it. */
  close(): void {
    if (this.#taken) return
    this.#taken = true
    this.#isolate.kill()
  }

  #deliver(event: (events: IsolateEvents) => void): void {
    if (this.#events === undefined) this.#held.push(event)
    else event(this.#events)
  }
}
