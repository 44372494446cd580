//! The one finding shape every check in dbsage reports: `secure audit`, `tune`, `health` and
//! `review` print and serialise the same fields, so scripts read them all alike.

use serde::Serialize;

/// How bad a finding is. `error` findings make the command exit 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
    /// Worth knowing, never a failure (a setting that could be better, a figure withheld).
    Info,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "info",
        }
    }
}

impl std::fmt::Display for Severity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One problem found in a database:
/// `{"check", "severity", "object", "message", "evidence": {…}, "fix_sql"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// The check's id, such as `rls-disabled-in-exposed-schema` or `unindexed-foreign-key`.
    pub check: String,
    pub severity: Severity,
    /// The object, as `table public.profiles`, `policy "p" on public.t`, `index public.i`,
    /// `function public.f(uuid)`.
    pub object: String,
    /// What is wrong and why it matters.
    pub message: String,
    /// The facts the verdict rests on (grants, settings, counts, versions), an object per check.
    pub evidence: serde_json::Value,
    /// SQL that fixes it (a template to complete when it says so in a comment).
    pub fix_sql: Option<String>,
}

impl Finding {
    /// The finding with `evidence` (an object) attached.
    pub fn with_evidence(mut self, evidence: serde_json::Value) -> Self {
        self.evidence = evidence;
        self
    }
}
