import { setTimeout as sleep } from 'node:timers/promises'

/** Retries that only yield to the event loop before the sleeps begin. */
const QUICK_RETRIES = 3

/**
 * Retries `attempt` while `isRetryable` says so, first only yielding to the event loop, then
 * sleeping in JavaScript between tries (1 ms, doubling, at most 25 ms, with jitter) until `timeoutMs` has passed; then calls `onTimeout`.
 * Waiting here rather than in a native call keeps the thread responsive: a worker thread blocked in
 * native code cannot be terminated.
 */
export async function retryUntil<T>(attempt: () => T | Promise<T>, isRetryable: (error: unknown) => boolean, timeoutMs: number, onTimeout: (last: unknown) => Error): Promise<T> {
  const deadline = performance.now() + timeoutMs
  try {
    return await attempt()
  } catch (error) {
    return retryAfter(error, attempt, isRetryable, deadline, onTimeout)
  }
}

/**
 * What {@link retryUntil} does once a first attempt has failed with `error`, for callers that
 * make the first attempt themselves (synchronously, without a promise when it succeeds).
 * `deadline` is a `performance.now()` time, taken before that first attempt.
 */
export async function retryAfter<T>(error: unknown, attempt: () => T | Promise<T>, isRetryable: (error: unknown) => boolean, deadline: number, onTimeout: (last: unknown) => Error): Promise<T> {
  let delay = 1
  let tries = 0
  for (let last = error; ; ) {
    if (!isRetryable(last)) throw last
    const left = deadline - performance.now()
    if (left <= 0) throw onTimeout(last)
    // A write lock is usually held for microseconds (one row, WAL): the first retries only
    // yield to the event loop; a timer's millisecond would be most of a request's time.
    if (tries++ < QUICK_RETRIES) {
      await new Promise((resolve) => setImmediate(resolve))
    } else {
      await sleep(Math.min(left, delay * (0.5 + Math.random())))
      delay = Math.min(delay * 2, 25)
    }
    try {
      return await attempt()
    } catch (next) {
      last = next
    }
  }
}
