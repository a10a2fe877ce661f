/** What the server tells listeners (`/events`, tests): discovery results as they arrive, and development reloads. */
export type ServerEvent =
  | { type: 'file'; path: string; status: string; cached: boolean; workflows: string[]; error?: string }
  | { type: 'reload-started'; changed: string[] }
  | { type: 'reload-finished'; ms: number; files: number; reimported: string[]; removed: string[]; failed: string[]; generation: number }
