import { setTimeout as sleep } from 'node:timers/promises'

/**
 * Retries `attempt` while `isRetryable` says so, sleeping in JavaScript between tries (1 ms,
 * doubling, at most 25 ms, with jitter) until `timeoutMs` has passed; then calls `onTimeout`.
 * Waiting here rather than in a native call keeps the thread responsive: a worker thread blocked in
 * native code cannot be terminated.
 */
export async function retryUntil<T>(attempt: () => T | Promise<T>, isRetryable: (error: unknown) => boolean, timeoutMs: number, onTimeout: (last: unknown) => Error): Promise<T> {
  const deadline = performance.now() + timeoutMs
  let delay = 1
  for (;;) {
    try {
      return await attempt()
    } catch (error) {
      if (!isRetryable(error)) throw error
      const left = deadline - performance.now()
      if (left <= 0) throw onTimeout(error)
      await sleep(Math.min(left, delay * (0.5 + Math.random())))
      delay = Math.min(delay * 2, 25)
    }
  }
}
