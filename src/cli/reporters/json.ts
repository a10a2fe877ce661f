import { toCheckJson, type CheckReport } from '../../discovery/report.js'

export function renderJson(report: CheckReport): string {
  return `${JSON.stringify(toCheckJson(report), null, 2)}\n`
}
