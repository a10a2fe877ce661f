import { availableParallelism } from 'node:os'

/** Every default of the server, in one place. */
export const NEXUS_DEFAULTS = {
  apiPort: 8000,
  host: '127.0.0.1',
  root: '.',
  autoDiscovery: true,
  workers: () => availableParallelism(),
  runTimeoutMs: 30_000,
  queueTimeoutMs: 30_000,
  maxMemoryMb: 1024,
  maxRequestBodyBytes: 10 * 1024 * 1024,
  dashboard: true,
  /** How long `close()` lets in-flight runs finish before stopping them. */
  shutdownTimeoutMs: 10_000,
} as const
