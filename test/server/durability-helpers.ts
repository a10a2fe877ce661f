// Shared by the durability tests: workflows whose runs the test controls, and polling helpers.
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { WorkflowBuilder } from '../../src/index.js'

/** Waits until the file `path` exists, then answers: a run that ends when the test says so. */
export const gate = new WorkflowBuilder().addNode('Function', 'gate', {
  code: 'async ({ path }) => { const fs = process.getBuiltinModule("node:fs"); while (!fs.existsSync(path)) await new Promise((r) => setTimeout(r, 20)); return { opened: path } }',
  path: '${path}',
})
export const echo = new WorkflowBuilder().addNode('Function', 'echo', { code: '({ value }) => ({ value })', value: '${value}' })
export const broken = new WorkflowBuilder().addNode('Function', 'boom', { code: '() => { throw new Error("boom") }' })

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Json = Record<string, any>

export interface Answer {
  status: number
  json: Json
  headers: Headers
}

export async function request(url: string, init: RequestInit = {}): Promise<Answer> {
  const response = await fetch(url, init)
  return { status: response.status, json: (await response.json()) as Json, headers: response.headers }
}

export function post(base: string, name: string, body: unknown, headers: Record<string, string> = {}): Promise<Answer> {
  return request(`${base}/workflows/${name}/execute`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) })
}

/** Polls a run's status until `done(status)` (generous bound, never a fixed sleep). */
export async function pollStatus(base: string, name: string, id: string, done: (status: string) => boolean, timeoutMs = 30_000): Promise<Json> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const { json } = await request(`${base}/workflows/${name}/status/${id}`)
    if (typeof json.status === 'string' && done(json.status)) return json
    if (Date.now() > deadline) throw new Error(`run ${id} still ${JSON.stringify(json)} after ${timeoutMs} ms`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

/** A temporary folder, removed by `remove()`. */
export function tempRoot(prefix = 'nexflow-durability-'): { path: string; file(name: string): string; open(name: string): void; remove(): void } {
  const path = mkdtempSync(join(tmpdir(), prefix))
  return {
    path,
    file: (name) => join(path, name),
    open: (name) => writeFileSync(join(path, name), 'open'),
    remove: () => rmSync(path, { recursive: true, force: true }),
  }
}

export { existsSync }
