//! Human output, shaped like a compiler diagnostic so it reads the way developers already read
//! rustc and gcc: severity and rule id, `file:line:col`, the SQL line with a caret, the fix.

use std::collections::HashMap;
use std::path::Path;

use crate::finding::{Finding, Severity};
use crate::SourceFile;

const RED: &str = "\x1b[1;31m";
const YELLOW: &str = "\x1b[1;33m";
const BLUE: &str = "\x1b[1;34m";
const BOLD: &str = "\x1b[1m";
const RESET: &str = "\x1b[0m";

/// Renders findings with the offending SQL line; `color` adds ANSI colours.
pub fn render_human(findings: &[Finding], files: &[SourceFile], color: bool) -> String {
    let texts: HashMap<&Path, &str> = files
        .iter()
        .map(|f| (f.path.as_path(), f.text.as_str()))
        .collect();
    let paint = |code: &'static str| if color { code } else { "" };
    let reset = paint(RESET);
    let mut out = String::new();
    for f in findings {
        let (label, code) = match f.severity {
            Severity::Error => ("error", RED),
            Severity::Warning => ("warning", YELLOW),
        };
        out.push_str(&format!(
            "{}{label}[{}]{reset}{}: {}{reset}\n",
            paint(code),
            f.rule,
            paint(BOLD),
            f.message
        ));
        let gutter = f.line.to_string().len();
        let blue = paint(BLUE);
        out.push_str(&format!(
            "{:gutter$}{blue}-->{reset} {}:{}:{}\n",
            "",
            super::display_path(&f.file),
            f.line,
            f.column
        ));
        if let Some(line) = texts
            .get(f.file.as_path())
            .and_then(|text| text.lines().nth(f.line - 1))
        {
            let line = line.trim_end_matches('\r').replace('\t', " ");
            let width = line.chars().count();
            let start = f.column.saturating_sub(1).min(width);
            // Underline the span on this line (a point at least).
            let span_chars = texts
                .get(f.file.as_path())
                .and_then(|t| t.get(f.offset..f.offset + f.len))
                .map_or(0, |s| s.lines().next().unwrap_or("").chars().count());
            let carets = span_chars.clamp(1, (width - start).max(1));
            out.push_str(&format!("{:gutter$} {blue}|{reset}\n", ""));
            out.push_str(&format!("{blue}{}{reset} {blue}|{reset} {line}\n", f.line));
            out.push_str(&format!(
                "{:gutter$} {blue}|{reset} {:start$}{}{}{reset}\n",
                "",
                "",
                paint(code),
                "^".repeat(carets)
            ));
        }
        if !f.fix.is_empty() {
            out.push_str(&format!(
                "{:gutter$} {blue}={reset} {}fix{reset}: {}\n",
                "",
                paint(BOLD),
                f.fix
            ));
        }
        out.push_str(&format!(
            "{:gutter$} {blue}={reset} see: dbsage lint --explain {}\n\n",
            "", f.rule
        ));
    }
    let errors = findings
        .iter()
        .filter(|f| f.severity == Severity::Error)
        .count();
    let warnings = findings.len() - errors;
    if findings.is_empty() {
        out.push_str("no findings\n");
    } else {
        out.push_str(&format!(
            "{} error{}, {} warning{}\n",
            errors,
            if errors == 1 { "" } else { "s" },
            warnings,
            if warnings == 1 { "" } else { "s" }
        ));
    }
    out
}
