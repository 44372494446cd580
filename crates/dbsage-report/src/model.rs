//! What the page shows. The CLI fills it from the libraries (status, lint, audit, coverage,
//! tune, health, backups); a section that could not be read carries a note saying why.

use serde::Serialize;

#[derive(Debug, Clone, Default, Serialize)]
pub struct Report {
    pub project: String,
    pub environment: String,
    pub generated_at: String,
    pub migrations: Vec<TimelineEntry>,
    /// Lint, audit, tune, health: each with its findings.
    pub sections: Vec<Section>,
    pub coverage: Option<CoverageMatrix>,
    pub charts: Vec<BarChart>,
    pub backups: Vec<Backup>,
    /// The environment's restore drills (`dbsage backup drill`), newest first.
    pub drills: Vec<Drill>,
    /// What could not be read, and why (shown at the top).
    pub notes: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct TimelineEntry {
    pub version: String,
    pub name: String,
    /// applied, pending, modified, missing, partial (failed midway).
    pub state: String,
    pub applied_at: Option<String>,
    pub duration_ms: Option<i64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Section {
    /// Stable id used in the page (`lint`, `audit`, `tune`, `health`).
    pub id: String,
    pub title: String,
    pub findings: Vec<FindingRow>,
    /// Why the section is empty when it could not run.
    pub note: Option<String>,
}

/// One finding in any section: the shared finding shape, with lint's file:line as the object.
#[derive(Debug, Clone, Serialize)]
pub struct FindingRow {
    pub check: String,
    pub severity: String,
    pub object: String,
    pub message: String,
    pub fix: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct CoverageMatrix {
    pub roles: Vec<String>,
    pub tables: Vec<String>,
    pub commands: Vec<String>,
    pub cells: Vec<CoverageCell>,
}

#[derive(Debug, Clone, Serialize)]
pub struct CoverageCell {
    pub role: String,
    pub table: String,
    pub command: String,
    pub allowed: bool,
    pub tested: bool,
}

impl CoverageCell {
    /// allowed / denied when a test exercises the cell, untested otherwise.
    pub fn verdict(&self) -> &'static str {
        match (self.tested, self.allowed) {
            (false, _) => "untested",
            (true, true) => "allowed",
            (true, false) => "denied",
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct BarChart {
    pub id: String,
    pub title: String,
    pub unit: String,
    pub bars: Vec<Bar>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Bar {
    pub label: String,
    pub value: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Backup {
    pub id: String,
    pub state: String,
    pub created_at: Option<String>,
    pub total_bytes: Option<u64>,
    pub rows: Option<i64>,
    pub duration_ms: Option<u64>,
    pub last_verify: Option<String>,
}

/// One restore drill: the backup restored on a throwaway cluster, verified, smoke-tested.
#[derive(Debug, Clone, Serialize)]
pub struct Drill {
    pub at: String,
    pub backup_id: String,
    /// Recovery point achieved: the restored data's age, seconds.
    pub rpo_seconds: i64,
    /// Recovery time achieved: the measured restore.
    pub rto_ms: Option<u64>,
    /// `passed`, `failed` or `skipped`.
    pub smoke: String,
    pub ok: bool,
    pub problems: Vec<String>,
}
