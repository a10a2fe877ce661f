import { DASHBOARD_PREFIX } from './paths.js'

/**
 * The dashboard's HTML: a static shell the script fills from the JSON API. No data and no inline
 * script in it, so it is the same for everyone and runs under a strict CSP.
 */
export const DASHBOARD_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>nexflow dashboard</title>
<link rel="stylesheet" href="${DASHBOARD_PREFIX}/app.css">
<script type="module" src="${DASHBOARD_PREFIX}/app.js"></script>
</head>
<body>
<header><h1>nexflow</h1><dl id="summary" aria-label="Summary"></dl></header>
<form id="login" hidden>
  <label for="api-key">This server needs an API key</label>
  <input id="api-key" name="api-key" type="password" autocomplete="current-password" required>
  <button type="submit">Sign in</button>
  <p id="login-error" role="alert"></p>
</form>
<main id="main" hidden>
  <section id="discovery" aria-labelledby="discovery-title">
    <h2 id="discovery-title">Discovery</h2>
    <p id="discovery-state"></p>
    <div id="waterfall"></div>
    <div id="file-detail" aria-live="polite"></div>
  </section>
  <section id="workflows" aria-labelledby="workflows-title">
    <h2 id="workflows-title">Workflows</h2>
    <div id="workflow-list"></div>
  </section>
  <section id="runs" aria-labelledby="runs-title">
    <h2 id="runs-title">Recent runs</h2>
    <table id="run-table"><thead><tr><th>Started</th><th>Workflow</th><th>Mode</th><th>Status</th><th>Duration</th><th>Inputs</th><th>Outputs / error</th></tr></thead><tbody></tbody></table>
  </section>
</main>
</body>
</html>
`
