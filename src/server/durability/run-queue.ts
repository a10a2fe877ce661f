/** What a queued job carries: the run's id and workflow; the inputs stay in the run store. */
export interface RunJob {
  runId: string
  workflow: string
  /**
   * A retry handed on by an instance that closed before taking it: the queue's own retry count
   * starts again with the new job, and the run may still be `running` from the instance that died.
   */
  retry?: boolean
}

/** How a job's handler learns the queue's view of it. */
export interface JobInfo {
  /** A job delivered again after its first holder died (pg-boss expiry, then retry). */
  retry: boolean
}

/**
 * What a job's handler did with it: `declined` means the run was not started here (the instance
 * is closing), so the queue hands it to another instance rather than counting it as failed.
 */
export type JobOutcome = 'done' | 'declined'

/** The handlers a queue calls. */
export interface JobHandlers {
  run: (job: RunJob, info: JobInfo) => Promise<JobOutcome>
  /** A job the queue gave up on (its holder died, retries spent). */
  interrupted: (job: RunJob) => Promise<void>
}

/**
 * Dispatches accepted async runs to a pool: in-process for the embedded store, pg-boss for
 * PostgreSQL (any instance may take a run). A handler never throws: it records how the run ended.
 */
export interface RunQueue {
  /**
   * Starts the queue: `send` works once this resolves, but jobs are taken only once `ready`
   * settles (the server serves its workflows). A job taken before would wait for discovery while
   * its expiry runs, and pg-boss would hand it out again, or give up on it, while it still runs.
   */
  start(handlers: JobHandlers, ready: Promise<unknown>): Promise<void>
  send(job: RunJob): Promise<void>
  /** Stops taking jobs; the handlers running finish on their own (the server aborts them at shutdown). */
  close(): Promise<void>
}
