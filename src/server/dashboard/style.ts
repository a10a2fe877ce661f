/**
 * The dashboard's stylesheet, served as a file (the CSP allows no inline style). Status colours
 * are CSS variables the waterfall's bars and legend share.
 */
export const DASHBOARD_CSS = `
:root {
  --ok: #2e9d57; --empty: #8fbf9f; --cached: #9aa5b1; --error: #d64545; --timeout: #e8890c; --stuck: #b0560b;
  --oom: #8e44ad; --exited: #c0392b; --crashed: #7b241c; --invalid: #d4ac0d; --conflict: #2471a3; --running: #3d7be0;
  --fg: #1f2933; --muted: #616e7c; --line: #d9e2ec; --bg: #fff; --panel: #f5f7fa;
  font-family: system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--fg); background: var(--bg);
}
body { margin: 0; }
[hidden] { display: none !important; }
header { display: flex; align-items: center; gap: 2rem; padding: .6rem 1.2rem; border-bottom: 1px solid var(--line); background: var(--panel); }
header h1 { font-size: 1.2rem; margin: 0; }
#summary { display: flex; flex-wrap: wrap; gap: 1.4rem; margin: 0; }
#summary div { display: flex; flex-direction: column; }
#summary dt { font-size: .7rem; color: var(--muted); text-transform: uppercase; }
#summary dd { margin: 0; font-weight: 600; }
main { padding: 0 1.2rem 2rem; }
section { margin-top: 1.2rem; }
h2 { font-size: 1.05rem; border-bottom: 1px solid var(--line); padding-bottom: .3rem; }
#login { max-width: 24rem; margin: 3rem auto; display: flex; flex-direction: column; gap: .5rem; }
#login-error { color: var(--error); min-height: 1.2em; }
input, select, textarea, button { font: inherit; }
button { cursor: pointer; border: 1px solid var(--line); background: var(--panel); border-radius: 4px; padding: .2rem .7rem; }
.legend { display: flex; flex-wrap: wrap; gap: .8rem; font-size: .75rem; color: var(--muted); margin: .3rem 0; }
.legend span::before { content: ""; display: inline-block; width: .7rem; height: .7rem; margin-right: .25rem; vertical-align: -1px; border-radius: 2px; background: var(--c); }
.wf-scroll { max-height: 26rem; overflow-y: auto; border: 1px solid var(--line); position: relative; }
.wf-rows { position: relative; }
.wf-row { position: absolute; left: 0; right: 0; height: 22px; display: flex; align-items: center; cursor: pointer; font-size: .78rem; }
.wf-row:hover, .wf-row.selected { background: #eef2f7; }
.wf-name { width: 30%; min-width: 12rem; padding: 0 .5rem; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; font-family: ui-monospace, monospace; }
.wf-track { position: relative; flex: 1; height: 100%; }
.wf-bar { position: absolute; top: 5px; height: 12px; min-width: 2px; border-radius: 2px; }
.wf-deadline { position: absolute; top: 0; bottom: 0; width: 0; border-left: 2px dashed var(--error); pointer-events: none; z-index: 1; }
.wf-axis { display: flex; justify-content: space-between; font-size: .7rem; color: var(--muted); margin-left: 30%; padding: .2rem 0; }
.s-ok { background: var(--ok); } .s-empty { background: var(--empty); } .s-cached { background: var(--cached); }
.s-error { background: var(--error); } .s-timeout { background: var(--timeout); } .s-stuck { background: var(--stuck); }
.s-oom { background: var(--oom); } .s-exited { background: var(--exited); } .s-crashed { background: var(--crashed); }
.s-invalid { background: var(--invalid); } .s-conflict { background: var(--conflict); } .s-running { background: var(--running); }
.status { display: inline-block; padding: 0 .4rem; border-radius: 3px; color: #fff; font-size: .75rem; }
#file-detail { margin-top: .6rem; }
.detail { border: 1px solid var(--line); background: var(--panel); padding: .6rem .8rem; border-radius: 4px; font-size: .85rem; }
.detail h3 { margin: 0 0 .4rem; font-size: .95rem; font-family: ui-monospace, monospace; }
pre { white-space: pre-wrap; word-break: break-word; font-size: .75rem; background: #fff; border: 1px solid var(--line); padding: .4rem; max-height: 18rem; overflow: auto; margin: .3rem 0; }
.workflow { border: 1px solid var(--line); border-radius: 4px; margin: .6rem 0; }
.workflow > summary { padding: .4rem .7rem; cursor: pointer; font-weight: 600; }
.workflow > summary small { font-weight: 400; color: var(--muted); margin-left: .6rem; }
.workflow-body { display: flex; flex-wrap: wrap; gap: 1.2rem; padding: .4rem .8rem .8rem; }
.workflow-body > * { flex: 1 1 20rem; }
.graph { max-width: 100%; }
.graph rect { fill: #eef2f7; stroke: #9fb3c8; rx: 4px; }
.graph text { font-size: 11px; fill: var(--fg); font-family: ui-monospace, monospace; }
.graph line { stroke: #9fb3c8; stroke-width: 1.5; }
.field { display: flex; flex-direction: column; margin-bottom: .5rem; font-size: .85rem; }
.field label { font-weight: 600; }
.field small { color: var(--muted); }
.field-error { color: var(--error); font-size: .8rem; }
.result-ok { border-left: 4px solid var(--ok); padding-left: .5rem; }
.result-error { border-left: 4px solid var(--error); padding-left: .5rem; }
#run-table { border-collapse: collapse; width: 100%; font-size: .8rem; }
#run-table th, #run-table td { text-align: left; border-bottom: 1px solid var(--line); padding: .25rem .4rem; vertical-align: top; }
#run-table td pre { max-height: 6rem; margin: 0; }
.muted { color: var(--muted); }
`
