/**
 * Runs `fn` once `ms` have passed and any message that arrived meanwhile has been read. Node runs
 * expired timers before it reads waiting messages, so when the main thread was busy, a deadline
 * would otherwise act on a worker whose answer is already waiting: a worker killed after it
 * finished, or (in discovery) a file handed over in advance taken back after the worker began it
 * and evaluated a second time elsewhere. `fn` must check that what it acts on is still current.
 */
export function afterMessages(fn: () => void, ms: number): NodeJS.Timeout {
  return setTimeout(() => setImmediate(fn), ms)
}
