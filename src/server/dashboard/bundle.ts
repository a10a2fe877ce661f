import { fileURLToPath } from 'node:url'

/** The browser code's entry: the top-level `dashboard/` folder of the checkout. */
export const DASHBOARD_ENTRY = fileURLToPath(new URL('../../../dashboard/app.ts', import.meta.url))

/**
 * Bundles the browser code into one script with esbuild (a dev dependency: `npm run build` does
 * this once into `dist/dashboard/app.js`, which ships; only a checkout run through tsx bundles on
 * first request). `outfile` writes it there; without it the script is returned.
 */
export async function bundleDashboard(outfile?: string): Promise<string> {
  const { build } = await import('esbuild')
  const result = await build({
    entryPoints: [DASHBOARD_ENTRY],
    bundle: true,
    format: 'esm',
    target: 'es2022',
    minify: outfile !== undefined,
    legalComments: 'none',
    write: outfile !== undefined,
    ...(outfile === undefined ? {} : { outfile }),
    logLevel: 'silent',
  })
  if (outfile !== undefined) return outfile
  return result.outputFiles?.[0]?.text ?? ''
}
