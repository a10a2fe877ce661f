// `npm run build`: bundles the dashboard's browser code (dashboard/) into dist/dashboard/app.js,
// which ships in the package, so an installed nexflow never needs esbuild.
import { statSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { bundleDashboard } from '../src/server/dashboard/bundle.js'

const outfile = fileURLToPath(new URL('../dist/dashboard/app.js', import.meta.url))
await bundleDashboard(outfile)
console.log(`dashboard: ${outfile} (${(statSync(outfile).size / 1024).toFixed(1)} KiB)`)
