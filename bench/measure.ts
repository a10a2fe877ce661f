export interface Stats {
  label: string
  runs: number
  medianMs: number
  p95Ms: number
}

/** Warms up, then repeats `fn` for at least `minMs` and reports the median and p95 of its runs. */
export async function measure(label: string, fn: () => unknown, options: { minMs?: number; warmup?: number; minRuns?: number } = {}): Promise<Stats> {
  const { minMs = 1000, warmup = 20, minRuns = 5 } = options
  for (let i = 0; i < warmup; i++) await fn()
  const samples: number[] = []
  const until = performance.now() + minMs
  while (performance.now() < until || samples.length < minRuns) {
    const start = performance.now()
    await fn()
    samples.push(performance.now() - start)
  }
  samples.sort((a, b) => a - b)
  const at = (q: number) => samples[Math.min(samples.length - 1, Math.floor(q * samples.length))] as number
  return { label, runs: samples.length, medianMs: at(0.5), p95Ms: at(0.95) }
}

export function printTable(title: string, rows: Stats[], baseline: Stats): void {
  console.log(`\n${title}`)
  for (const row of rows) {
    const ratio = row.medianMs / baseline.medianMs
    console.log(`  ${row.label.padEnd(40)} median ${row.medianMs.toFixed(4).padStart(10)} ms  p95 ${row.p95Ms.toFixed(4).padStart(10)} ms  runs ${String(row.runs).padStart(6)}  ${ratio.toFixed(2)}x baseline`)
  }
}

/** USER_HZ: the unit of utime and stime in /proc (100 on Linux, whatever the kernel's HZ). */
const CLOCK_TICKS_PER_S = 100

/**
 * CPU time so far of a process (every thread) and of its main thread, in ms, from /proc (Linux).
 * Other work on the machine moves requests/s; CPU per request moves much less.
 */
export async function processCpuMs(pid: number): Promise<{ total: number; main: number }> {
  const { readFile } = await import('node:fs/promises')
  const ticks = async (file: string) => {
    // Fields after the command name, which is in parentheses and may hold spaces: utime and stime are the 12th and 13th.
    const stat = await readFile(file, 'utf8')
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS_PER_S
  }
  return { total: await ticks(`/proc/${pid}/stat`), main: await ticks(`/proc/${pid}/task/${pid}/stat`) }
}
