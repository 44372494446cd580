//! Lint findings that cannot fail a run (files at or before the baseline, or applied with an
//! audited --skip-lint), under a heading per reason: `migrate --local` and `dbsage lint` word
//! them the same way.

use dbsage_lint::{Finding, SourceFile};

/// The context findings as text, grouped by reason; `sources` holds at least their files.
pub fn render(context: &[(Finding, String)], sources: &[SourceFile], color: bool) -> String {
    // In the order first met (the baseline's files come first).
    let mut reasons: Vec<&String> = Vec::new();
    for (_, why) in context {
        if !reasons.contains(&why) {
            reasons.push(why);
        }
    }
    let mut text = String::new();
    for why in reasons {
        let findings: Vec<Finding> = context
            .iter()
            .filter(|(_, w)| w == why)
            .map(|(f, _)| f.clone())
            .collect();
        text.push_str(&format!(
            "context, not failing: {} in files {why}\n",
            dbsage_core::wording::plural(findings.len(), "lint finding")
        ));
        text.push_str(&dbsage_lint::render_human(&findings, sources, color));
        text.push_str(&format!(
            "end of context: these {} do not fail the run\n",
            dbsage_core::wording::plural(findings.len(), "finding")
        ));
    }
    text
}
