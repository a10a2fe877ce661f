/** What the server tells listeners (`/events`, tests): discovery results as they arrive, and development reloads. */
export type ServerEvent =
  /** A worker began importing a file (`startMs` from the start of its discovery run): the dashboard draws its bar growing until the `file` event. */
  | { type: 'file-started'; path: string; startMs: number }
  | { type: 'file'; path: string; status: string; cached: boolean; workflows: string[]; error?: string; startMs?: number; endMs?: number }
  | { type: 'reload-started'; changed: string[] }
  | { type: 'reload-finished'; ms: number; files: number; reimported: string[]; removed: string[]; failed: string[]; generation: number }
  /** A run finished (sync or async): the dashboard's runs table refreshes. */
  | { type: 'run'; run_id: string; workflow: string; status: string }
