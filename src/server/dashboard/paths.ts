/** Where the dashboard's page and assets live: `/` is the page, `/_nexflow/` its own prefix. */
export const DASHBOARD_PREFIX = '/_nexflow'

/**
 * The dashboard page and its static assets. They carry no data (every JSON call the page makes
 * sends the key), so auth lets them through and the page asks for the key; and they get the
 * page's CSP instead of the API's.
 */
export function isDashboardPath(path: string): boolean {
  return path === '/' || path === DASHBOARD_PREFIX || path.startsWith(`${DASHBOARD_PREFIX}/`)
}

/**
 * The page's CSP: its script and stylesheet from this origin only (no inline script or style),
 * JSON and events from this origin, nothing framed, no form posted elsewhere.
 */
export const DASHBOARD_CSP = {
  defaultSrc: ["'none'"],
  scriptSrc: ["'self'"],
  styleSrc: ["'self'"],
  connectSrc: ["'self'"],
  imgSrc: ["'self'", 'data:'],
  baseUri: ["'none'"],
  formAction: ["'none'"],
  frameAncestors: ["'none'"],
}
