/** Splits `result.data.0` into its segments; an empty path or `*` means the whole value. */
export function parsePath(path: string): readonly string[] {
  if (path === '' || path === '*') return []
  return path.split('.')
}

/** Reads a dotted path from a plain value; a missing segment gives `undefined`. */
export function getPath(value: unknown, segments: readonly string[]): unknown {
  let current = value
  for (const segment of segments) {
    if (current === null || typeof current !== 'object') return undefined
    if (!Object.hasOwn(current, segment)) return undefined
    current = (current as Record<string, unknown>)[segment]
  }
  return current
}
