//! `--format json`: a list of `{"rule","severity","file","line","column","message","fix"}`.

use serde::Serialize;

use crate::finding::{Finding, Severity};

#[derive(Serialize)]
struct JsonFinding<'a> {
    rule: &'a str,
    severity: Severity,
    file: String,
    line: usize,
    column: usize,
    message: &'a str,
    fix: &'a str,
}

/// Renders findings as a pretty-printed JSON array (stable key order).
pub fn render_json(findings: &[Finding]) -> String {
    let list: Vec<JsonFinding> = findings
        .iter()
        .map(|f| JsonFinding {
            rule: &f.rule,
            severity: f.severity,
            file: super::display_path(&f.file),
            line: f.line,
            column: f.column,
            message: &f.message,
            fix: &f.fix,
        })
        .collect();
    let mut out = serde_json::to_string_pretty(&list).expect("findings serialise");
    out.push('\n');
    out
}
