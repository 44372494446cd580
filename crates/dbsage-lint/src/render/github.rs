//! `--format github`: workflow commands that GitHub Actions turns into annotations on the diff.

use crate::finding::{Finding, Severity};

/// One `::error file=…,line=…,col=…,title=rule::message` line per finding.
pub fn render_github(findings: &[Finding]) -> String {
    let mut out = String::new();
    for f in findings {
        let level = match f.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        let message = if f.fix.is_empty() {
            f.message.clone()
        } else {
            format!("{}\nFix: {}", f.message, f.fix)
        };
        out.push_str(&format!(
            "::{level} file={},line={},col={},title={}::{}\n",
            escape_property(&super::display_path(&f.file)),
            f.line,
            f.column,
            escape_property(&f.rule),
            escape_data(&message)
        ));
    }
    out
}

/// Escaping of a workflow command's message, as the Actions runner expects it.
fn escape_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Properties additionally escape the separators `:` and `,`.
fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}
