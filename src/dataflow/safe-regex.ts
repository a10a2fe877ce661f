// Which `$regex` patterns DataFlow accepts. Callers' inputs reach filters, and SQLite runs `$regex`
// as a JavaScript RegExp on the calling thread, where `^(a+)+$` against 26 `a`s blocks for seconds:
// a remote denial of service. So a pattern is refused, on every dialect alike, when its shape is
// one that backtracks exponentially.
//
// A small analyser of our own rather than a package: the rule set is short (the star-height test
// that `safe-regex` popularised, plus back-references, lookaround and a size budget), a tokenizer
// of JS regex syntax is about a hundred lines, and our own lets each refusal say which construct
// it refused and why.
//
// Not bounded by these rules: polynomial backtracking. Overlapping quantifiers in sequence
// (`.*.*.*x`, `a*a*b`) have star height 1 and are accepted, yet a backtracking engine spends about
// n^k steps on them in the length of the value tested. SQLite, where the engine is ours, runs
// every pattern on V8's linear-time engine instead (sqlite/linear-regex.ts); PostgreSQL's and
// MySQL's engines are their own (see the README).

/** The longest `$regex` pattern accepted, in UTF-16 code units. */
export const MAX_REGEX_LENGTH = 256

/**
 * The most choice points (quantifiers, plus each group, or the whole pattern, that holds `|`) a
 * `$regex` may have. A sequence of ambiguous choices, like `(a|a)(a|a)...` or `a?a?...`, backtracks
 * through every combination of them: 2^20 of them took 100 ms for 22 characters. This keeps the
 * combinations in the thousands while leaving room for real patterns (a phone number needs 6).
 */
export const MAX_REGEX_CHOICES = 10

/** A group being read: what it holds decides whether repeating it is safe. */
interface Frame {
  /** Offset of its `(`; -1 for the whole pattern. */
  readonly start: number
  /** Holds a quantifier, at any depth. */
  quantifier: boolean
  /** Holds a `|`, at any depth. */
  alternation: boolean
  /** Holds a `|` of its own (counted once as a choice point). */
  branches: boolean
}

/** What a quantifier applies to: a single item, or a whole group just closed. */
interface Atom {
  readonly start: number
  readonly group?: Frame
}

const QUANTIFIER_BRACES = /^\{(\d+)(,(\d*))?\}/

/**
 * Why `pattern` is refused as a `$regex`, or `undefined` when it is accepted. The reason reads
 * after "the pattern", e.g. `is not a valid regular expression: ...`. Refused:
 * - more than {@link MAX_REGEX_LENGTH} characters, or a pattern `new RegExp` does not compile;
 * - a repeated group (`*`, `+`, `{n,m}` with a maximum above 1) that holds a quantifier or an
 *   alternation: `(a+)+`, `(a|aa)+`, `(a*)*b`, `(.*a){20}` (star height above 1);
 * - back-references (`\1`, `\k<name>`) and lookaround (`(?=`, `(?!`, `(?<=`, `(?<!`);
 * - more than {@link MAX_REGEX_CHOICES} choice points.
 * An optional group (`(\.com|\.org)?`) is accepted: it is tried at most twice, not in a loop.
 */
export function regexProblem(pattern: string): string | undefined {
  if (pattern.length > MAX_REGEX_LENGTH) return `is ${pattern.length} characters long; the limit is ${MAX_REGEX_LENGTH}`
  try {
    // Flags as the SQLite driver compiles it: none. Everything below may assume valid syntax.
    new RegExp(pattern)
  } catch (error) {
    return `is not a valid regular expression: ${(error as Error).message}`
  }
  return shapeProblem(pattern)
}

/** Reads a pattern that compiles, left to right, one token at a time (JS syntax without the `u` flag). */
function shapeProblem(p: string): string | undefined {
  const stack: Frame[] = [{ start: -1, quantifier: false, alternation: false, branches: false }]
  const top = () => stack[stack.length - 1] as Frame
  let choices = 0
  let atom: Atom | undefined
  let i = 0
  while (i < p.length) {
    const ch = p[i] as string
    if (ch === '\\') {
      const next = p[i + 1] ?? ''
      // Without the `u` flag `\1` is an octal escape when the pattern has no group 1, and `\k` a
      // plain `k` when it has no named group: refused either way, as they mean different things
      // on PostgreSQL and MySQL.
      if (/[1-9k]/.test(next)) return `uses a back-reference (${JSON.stringify(p.slice(i, i + 2))}), which is not supported: back-references can backtrack catastrophically`
      // The escaped character is the atom; the rest of `\x41` or `\u0041` are plain characters.
      atom = { start: i }
      i += 2
    } else if (ch === '[') {
      atom = { start: i }
      i = classEnd(p, i)
    } else if (ch === '(') {
      if (p.startsWith('(?=', i) || p.startsWith('(?!', i)) return `uses a lookahead (${JSON.stringify(p.slice(i, i + 3))}), which is not supported`
      if (p.startsWith('(?<=', i) || p.startsWith('(?<!', i)) return `uses a lookbehind (${JSON.stringify(p.slice(i, i + 4))}), which is not supported`
      stack.push({ start: i, quantifier: false, alternation: false, branches: false })
      atom = undefined
      if (p.startsWith('(?:', i)) i += 3
      else if (p.startsWith('(?<', i)) i = p.indexOf('>', i) + 1 // (?<name>
      else if (p.startsWith('(?', i)) return `uses an unsupported group (${JSON.stringify(p.slice(i, i + 3))})`
      else i += 1
    } else if (ch === ')') {
      const group = stack.pop() as Frame
      top().quantifier ||= group.quantifier
      top().alternation ||= group.alternation
      atom = { start: group.start, group }
      i += 1
    } else if (ch === '|') {
      if (!top().branches) choices += 1
      top().branches = true
      top().alternation = true
      atom = undefined
      i += 1
    } else {
      const quantifier = readQuantifier(p, i)
      if (quantifier === undefined) {
        // Any other character, including a `{` that does not start a quantifier, matches itself.
        atom = { start: i }
        i += 1
        continue
      }
      // The pattern compiled, so a quantifier always follows something it can repeat.
      const end = p[quantifier.end] === '?' ? quantifier.end + 1 : quantifier.end // lazy `*?`
      const group = atom?.group
      if (quantifier.repeats && group !== undefined && (group.quantifier || group.alternation)) {
        const what = group.quantifier ? 'a quantifier' : 'an alternation'
        const hint = group.quantifier ? 'repeat a character class instead (e.g. "a+" for "(a+)+")' : 'use a character class (e.g. "[ab]+" for "(a|b)+") or list whole words without repeating them'
        return `repeats a group that contains ${what} (${JSON.stringify(p.slice(group.start, end))}), which can backtrack catastrophically; ${hint}`
      }
      top().quantifier = true
      choices += 1
      atom = undefined
      i = end
    }
  }
  if (choices > MAX_REGEX_CHOICES) return `has ${choices} quantifiers and alternations; the limit is ${MAX_REGEX_CHOICES}, as each one multiplies the ways a match can be retried`
  return undefined
}

/** The offset just past the `]` that closes the class opened at `start` (`[]` is an empty class in JS). */
function classEnd(p: string, start: number): number {
  let i = start + 1
  if (p[i] === '^') i += 1
  while (i < p.length && p[i] !== ']') i += p[i] === '\\' ? 2 : 1
  return i + 1
}

/** The quantifier at `i`, if one starts there; `repeats` when it may match more than once. */
function readQuantifier(p: string, i: number): { end: number; repeats: boolean } | undefined {
  const ch = p[i]
  if (ch === '*' || ch === '+') return { end: i + 1, repeats: true }
  if (ch === '?') return { end: i + 1, repeats: false }
  if (ch !== '{') return undefined
  const braces = QUANTIFIER_BRACES.exec(p.slice(i))
  if (braces === null) return undefined
  const [text, min, comma, max] = braces
  const upper = comma === undefined ? Number(min) : max === '' || max === undefined ? Infinity : Number(max)
  return { end: i + text.length, repeats: upper > 1 }
}
