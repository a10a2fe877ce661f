import { availableParallelism } from 'node:os'

/** File extensions discovery imports. */
export const CANDIDATE_EXTENSIONS = ['ts', 'mts', 'cts', 'tsx', 'js', 'mjs', 'cjs'] as const

const EXT = `{${CANDIDATE_EXTENSIONS.join(',')}}`

/**
 * The source system's file conventions, carried to TypeScript and JavaScript and made recursive.
 * Relative to the discovery root.
 */
export const DEFAULT_PATTERNS: readonly string[] = Object.freeze([
  `workflows/**/*.${EXT}`,
  `src/workflows/**/*.${EXT}`,
  `app/workflows/**/*.${EXT}`,
  `**/*.workflow.${EXT}`,
  `**/workflow_*.${EXT}`,
  `**/*_workflow.${EXT}`,
])

/** Never candidates: dependencies, build output, tooling folders, declarations, tests, and folders starting with `_`. */
export const DEFAULT_IGNORE: readonly string[] = Object.freeze([
  '**/node_modules/**',
  '**/dist/**',
  '**/build/**',
  '**/coverage/**',
  '**/.git/**',
  '**/.nexflow/**',
  '**/*.d.ts',
  '**/*.d.mts',
  '**/*.d.cts',
  '**/*.test.*',
  '**/*.spec.*',
  '**/_*/**',
])

/** Every default of discovery, in one place. */
export const DISCOVERY_DEFAULTS = {
  patterns: DEFAULT_PATTERNS,
  ignore: DEFAULT_IGNORE,
  timeoutMs: 10_000,
  isolation: 'thread',
  /** Busy workers at once; see `overflowWorkers` for files that hang. */
  concurrency: () => availableParallelism(),
  maxMemoryMb: 1024,
  stuckGraceMs: 1000,
  cache: true,
  /** Relative to the root. */
  cacheDir: '.nexflow',
  maxManifestBytes: 16 * 1024 * 1024,
} as const

/**
 * Scheduling constants that are not options.
 *
 * Why workers beyond `concurrency`: a file that hangs holds its worker until its deadline, and
 * with only `concurrency` workers k hanging files would cost k/concurrency deadlines. A task
 * that has run far longer than a typical import ("lingers") stops counting toward `concurrency`,
 * so another worker picks up the queue; at most `overflowWorkers` such extra workers exist.
 */
export const POOL_TUNING = {
  overflowWorkers: 16,
  /** Linger threshold before imports have finished (at most a quarter of the deadline), and its upper bound. */
  lingerMaxMs: 1000,
  lingerMinMs: 100,
  /** A task lingers after this many times the median duration of recent imports. */
  lingerFactor: 4,
  /** How long a worker may take to boot and accept a task before it is counted as crashed. */
  bootTimeoutMs: 30_000,
  /** Consecutive workers that die before becoming ready before discovery gives up on the pool. */
  maxBootFailures: 3,
  /** Bytes of a worker's recent stdout/stderr kept to explain a failure. */
  outputTailBytes: 4096,
} as const
