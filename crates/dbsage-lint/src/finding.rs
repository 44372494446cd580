//! What the linter reports: findings, their severity, and rule metadata.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// How bad a finding is. `Error` findings make `dbsage lint` exit 1 and stop `migrate`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        }
    }
}

/// One problem at one place in one migration file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// Stable kebab-case rule id, e.g. `foreign-key-without-index`.
    pub rule: String,
    pub severity: Severity,
    pub file: PathBuf,
    /// 1-based line of `offset`.
    pub line: usize,
    /// 1-based column of `offset`, in characters.
    pub column: usize,
    /// Byte offset in the file where the offending SQL starts.
    pub offset: usize,
    /// Byte length of the offending SQL (0 for a point, e.g. a syntax error).
    pub len: usize,
    pub message: String,
    /// How to fix it, in one sentence.
    pub fix: String,
}

/// A rule as `dbsage lint --explain` and the SARIF output list it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RuleInfo {
    pub id: &'static str,
    pub default_severity: Severity,
    pub summary: &'static str,
}
