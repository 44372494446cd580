//! The page's inline stylesheet: readable on a laptop screen, and on paper (print rules).

pub const CSS: &str = r#"
:root { --ok: #1a7f37; --bad: #cf222e; --warn: #9a6700; --muted: #57606a; --line: #d0d7de; }
* { box-sizing: border-box; }
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: #1f2328; margin: 0 auto; max-width: 1200px; padding: 24px; }
h1 { font-size: 24px; margin: 0 0 4px; } h2 { font-size: 19px; margin: 28px 0 8px; border-bottom: 1px solid var(--line); padding-bottom: 4px; }
.meta, .note { color: var(--muted); } .note { font-style: italic; }
table { border-collapse: collapse; width: 100%; margin: 6px 0; }
th, td { border: 1px solid var(--line); padding: 4px 8px; text-align: left; vertical-align: top; overflow-wrap: break-word; }
th { background: #f6f8fa; }
/* Findings: fixed columns, long paths and index names wrap inside them instead of pushing
   the fix column off the paper. */
table.findings { table-layout: fixed; }
table.findings th:nth-child(1) { width: 12%; } table.findings th:nth-child(2) { width: 18%; }
table.findings th:nth-child(3) { width: 21%; } table.findings th:nth-child(4) { width: 26%; }
table.findings th:nth-child(5) { width: 23%; }
table.findings td + td { overflow-wrap: anywhere; }
code, pre { font: 13px ui-monospace, SFMono-Regular, Menlo, monospace; }
pre { white-space: pre-wrap; margin: 0; background: #f6f8fa; padding: 4px 6px; }
.state-applied { color: var(--ok); } .state-pending { color: var(--warn); }
.state-modified, .state-missing, .state-partial { color: var(--bad); font-weight: 600; }
.sev-error { color: var(--bad); font-weight: 600; } .sev-warning { color: var(--warn); } .sev-info { color: var(--muted); }
td.cell { text-align: center; font-size: 13px; }
td.allowed { background: #dafbe1; } td.denied { background: #ffebe9; } td.untested { background: #fff8c5; }
.legend span { display: inline-block; padding: 1px 8px; margin-right: 6px; border: 1px solid var(--line); }
.charts { display: flex; flex-wrap: wrap; gap: 24px; }
svg.chart { font-size: 12px; } svg.chart rect { fill: #0969da; } svg.chart text { fill: #1f2328; }
.timeline { display: flex; gap: 2px; margin: 8px 0; } .timeline div { flex: 1; height: 10px; }
.timeline .applied { background: var(--ok); } .timeline .pending { background: #d4a72c; } .timeline .bad { background: var(--bad); }
@media print {
  body { max-width: none; padding: 0; font-size: 11pt; }
  h2 { break-after: avoid; } tr, svg { break-inside: avoid; }
  td.allowed, td.denied, td.untested, .timeline div { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
}
"#;
