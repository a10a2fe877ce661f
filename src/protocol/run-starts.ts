/**
 * Where execution workers note when they begin a run, so the main thread can count a run's
 * deadline from then (waiting for a free worker is not the run's time) without a message or an
 * allocation per run: one shared buffer per pool, read only when a deadline timer fires.
 *
 * A ring of slots, each a (sequence number, start time) pair; run `seq` uses slot
 * `seq % RUN_START_SLOTS`. The worker writes the time, then publishes the sequence number with
 * `Atomics.store`, so a reader that sees its own number sees that run's time. A slot reused by a
 * newer run (more than {@link RUN_START_SLOTS} runs queued at once) reads as "not started", which
 * only lets the queue bound, rather than the run bound, apply to that run.
 */
export const RUN_START_SLOTS = 4096

/** Sequence numbers stay within an Int32 slot. */
export const RUN_SEQ_LIMIT = 0x7fffffff

export interface RunStarts {
  readonly buffer: SharedArrayBuffer
  readonly times: Float64Array
  readonly seqs: Int32Array
}

export function runStarts(buffer = new SharedArrayBuffer(RUN_START_SLOTS * (Float64Array.BYTES_PER_ELEMENT + Int32Array.BYTES_PER_ELEMENT))): RunStarts {
  return {
    buffer,
    times: new Float64Array(buffer, 0, RUN_START_SLOTS),
    seqs: new Int32Array(buffer, RUN_START_SLOTS * Float64Array.BYTES_PER_ELEMENT, RUN_START_SLOTS),
  }
}

/** Worker side: run `seq` begins now (`Date.now()`: both threads read the same clock). */
export function noteRunStarted(starts: RunStarts, seq: number): void {
  const slot = seq % RUN_START_SLOTS
  starts.times[slot] = Date.now()
  Atomics.store(starts.seqs, slot, seq)
}

/** Main side: when run `seq` began (`Date.now()` time), or undefined if it has not (yet). */
export function runStartedAt(starts: RunStarts, seq: number): number | undefined {
  const slot = seq % RUN_START_SLOTS
  return Atomics.load(starts.seqs, slot) === seq ? starts.times[slot] : undefined
}
