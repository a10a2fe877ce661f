#!/usr/bin/env node
// Runs the compiled CLI when the package is built, else the TypeScript sources through tsx, so
// `nexflow` works both from a published package and from a checkout.
import { existsSync } from 'node:fs'

const built = new URL('../dist/src/cli/main.js', import.meta.url)
let cli
if (existsSync(built)) {
  cli = await import(built.href)
} else {
  const { register } = await import('tsx/esm/api')
  register()
  cli = await import(new URL('../src/cli/main.ts', import.meta.url).href)
}
try {
  process.exitCode = await cli.main(process.argv.slice(2))
} catch (error) {
  process.exitCode = cli.reportFatal(error)
}
