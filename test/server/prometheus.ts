// A reader of the Prometheus text format, enough for tests: one sample per line.

/** `name{a="1",b="2"}` (labels sorted) -> value. */
export type Samples = Map<string, number>

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)$/
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g

function key(name: string, labels: Record<string, string>): string {
  const pairs = Object.entries(labels)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([label, value]) => `${label}=${JSON.stringify(value)}`)
  return `${name}{${pairs.join(',')}}`
}

export function parseMetrics(text: string): Samples {
  const samples: Samples = new Map()
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue
    const match = SAMPLE.exec(line)
    if (match === null) throw new Error(`not a Prometheus sample line: ${JSON.stringify(line)}`)
    const labels: Record<string, string> = {}
    for (const [, label, value] of (match[2] ?? '').matchAll(LABEL)) labels[label as string] = (value as string).replace(/\\(.)/g, (_all, c: string) => (c === 'n' ? '\n' : c))
    samples.set(key(match[1] as string, labels), Number(match[3]))
  }
  return samples
}

/** The value of one sample, or `undefined` when there is none with exactly these labels. */
export function metricValue(samples: Samples, name: string, labels: Record<string, string>): number | undefined {
  return samples.get(key(name, labels))
}
