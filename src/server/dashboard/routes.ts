import { Hono, type Context } from 'hono'
import { dashboardScript } from './assets.js'
import { DASHBOARD_HTML } from './page.js'
import { DASHBOARD_PREFIX } from './paths.js'
import { DASHBOARD_CSS } from './style.js'

/**
 * The dashboard: a page at `/` (and `/_nexflow/`) and its two assets. The page holds no data: it
 * reads the API's own JSON (`/health`, `/discovery`, `/workflows`, `/runs`, `/events`) from the
 * browser, with the key the user gives it.
 */
export function dashboardRoutes(): Hono {
  const app = new Hono()
  // A new server version may ship a new script: browsers ask again rather than run a stale one.
  const noCache = { 'cache-control': 'no-cache' }
  const page = (c: Context) => c.body(DASHBOARD_HTML, 200, { 'content-type': 'text/html; charset=utf-8', ...noCache })
  app.get('/', page)
  app.get(DASHBOARD_PREFIX, page)
  app.get(`${DASHBOARD_PREFIX}/`, page)
  app.get(`${DASHBOARD_PREFIX}/app.js`, async (c) => c.body(await dashboardScript(), 200, { 'content-type': 'text/javascript; charset=utf-8', ...noCache }))
  app.get(`${DASHBOARD_PREFIX}/app.css`, (c) => c.body(DASHBOARD_CSS, 200, { 'content-type': 'text/css; charset=utf-8', ...noCache }))
  return app
}
