import { setFlagsFromString } from 'node:v8'

/**
 * SQLite's REGEXP runs a JavaScript RegExp on the calling thread, where no timer can stop it. The
 * shape rules of `safe-regex.ts` refuse exponential backtracking, but polynomial backtracking
 * passes them: `.*.*.*x` is cubic in the length of the value (about n^3 steps: minutes for a
 * 10,000-character value), and even a single `a*b` is quadratic through the search for a start.
 * So SQLite runs patterns on V8's linear-time engine (the `l` flag), whose cost grows with the
 * value's length times the pattern's, whatever the pattern.
 *
 * The engine sits behind a V8 flag. Setting it at run time only makes the `l` flag compile: no other
 * RegExp in the process changes. Matching is the same as the backtracking engine's (same leftmost
 * match, greedy and lazy alike) for every pattern the shape rules accept, except counted
 * repetitions above 16 (`a{17}`), which it cannot unroll: those are refused on SQLite.
 */
let engine: 'linear' | 'unavailable' | undefined

function linearEngine(): boolean {
  if (engine === undefined) {
    try {
      setFlagsFromString('--enable-experimental-regexp-engine')
      new RegExp('', 'l')
      engine = 'linear'
    } catch {
      // A Node whose V8 dropped the flag: the shape rules are all that stands, as before.
      engine = 'unavailable'
    }
  }
  return engine === 'linear'
}

/** Whether SQLite's REGEXP runs in linear time in this process (false only on a V8 without the engine). */
export function regexRunsInLinearTime(): boolean {
  return linearEngine()
}

/**
 * The RegExp SQLite's REGEXP runs for `pattern` (one the shape rules accepted), or why it cannot
 * be run in linear time. The reason reads after "the pattern".
 */
export function sqliteRegExp(pattern: string): RegExp | { problem: string } {
  if (!linearEngine()) return new RegExp(pattern)
  try {
    return new RegExp(pattern, 'l')
  } catch {
    return { problem: 'cannot run in linear time on SQLite, which runs $regex on the calling thread: a counted repetition above 16 (e.g. "a{17}") cannot be unrolled; write it as a shorter count or a "+"' }
  }
}

/** Why SQLite refuses `pattern` beyond the shape rules, or `undefined`. */
export function sqliteRegexProblem(pattern: string): string | undefined {
  const regex = sqliteRegExp(pattern)
  return regex instanceof RegExp ? undefined : regex.problem
}
