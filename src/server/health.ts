// GET /health and GET /ready, as documents: the same fields whether the server is still loading
// (answered by the port that listens first, startup-listener.ts) or running (Nexus). Plain types
// and values only: this module loads before the server does.

/** Where the server is: `starting` while it loads (only /health and /ready answer; other requests wait), then `serving`, then `closing`, `closed`. */
export type HealthPhase = 'starting' | 'serving' | 'closing' | 'closed'

/** `GET /health`: always 200 while the process serves. */
export interface HealthJson {
  /** `ok` while serving (and while loading); else the server's state (`closing`). */
  status: string
  phase: HealthPhase | 'created'
  uptime_s: number
  workflows: number
  discovery: { state: 'off' | 'running' | 'finished' | 'failed'; files: number; by_status: Record<string, number> }
  /** The execution pool's stats once it exists. */
  pool: unknown
  runs_in_flight: number
  mcp_sessions: number
}

/** `GET /ready`: 200 with `{ ready: true }` once discovery and the warm-up are done, else 503 with the reason. */
export interface ReadinessJson {
  ready: boolean
  reason?: string
}

/** The reason /ready gives while discovery runs. */
export function discoveryRunning(files: number): string {
  return `discovery is running (${files} files so far)`
}

/**
 * What the server says while it loads: what it says at its first instant once loaded (no file
 * discovered, no pool, no run yet), in phase `starting`. Discovery, when on, is the first thing
 * it does, and /ready is 503 until it is done either way.
 */
export function startingHealth(discovery: boolean, uptimeMs: number): HealthJson {
  return {
    status: 'ok',
    phase: 'starting',
    uptime_s: Math.round(uptimeMs / 1000),
    workflows: 0,
    discovery: { state: discovery ? 'running' : 'off', files: 0, by_status: {} },
    pool: null,
    runs_in_flight: 0,
    mcp_sessions: 0,
  }
}

export function startingReadiness(discovery: boolean): ReadinessJson {
  return { ready: false, reason: `${discovery ? `${discoveryRunning(0)}; ` : ''}the server is loading its modules` }
}
