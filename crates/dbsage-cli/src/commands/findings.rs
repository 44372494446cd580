//! Human rendering of findings (`secure audit`, `tune`, `health`, `review` share one shape:
//! [`dbsage_catalog::finding::Finding`]); JSON output serialises them as they are.

use dbsage_catalog::finding::{Finding, Severity};

use crate::output::{Out, Style};

/// `error[check] object: message`, the fix SQL dimmed under it, then "N findings".
pub fn print(out: &Out, findings: &[Finding]) {
    for f in findings {
        let severity = match f.severity {
            Severity::Error => out.paint("error", Style::Bad),
            Severity::Warning => out.paint("warning", Style::Warn),
            Severity::Info => out.paint("info", Style::Dim),
        };
        out_line!("{severity}[{}] {}: {}", f.check, f.object, f.message);
        if let Some(sql) = &f.fix_sql {
            for line in sql.lines() {
                out_line!("    {}", out.paint(line, Style::Dim));
            }
        }
    }
    out_line!(
        "{}",
        dbsage_core::wording::plural(findings.len(), "finding")
    );
}

/// True when any finding is an error (the command then exits 1).
pub fn any_error(findings: &[Finding]) -> bool {
    findings.iter().any(|f| f.severity == Severity::Error)
}
