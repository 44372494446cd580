//! What each step of the pipeline reports, live and in the final report.

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StepStatus {
    Passed,
    Failed,
    /// A gate said no (exit 3).
    Refused,
    Skipped,
    /// `--plan`: what would happen.
    Planned,
}

#[derive(Debug, Clone, Serialize)]
pub struct StepReport {
    /// `preflight.lint`, `backup`, `migrate`, `smoke`, `postcheck.invalid_indexes`, …
    pub step: String,
    pub status: StepStatus,
    /// One line: what happened.
    pub message: String,
    /// The objects, pids, cases… behind the message.
    pub details: Vec<String>,
    pub duration_ms: u64,
}

impl StepReport {
    pub fn new(step: &str, status: StepStatus, message: impl Into<String>) -> StepReport {
        StepReport {
            step: step.to_string(),
            status,
            message: message.into(),
            details: Vec::new(),
            duration_ms: 0,
        }
    }

    pub fn with_details(mut self, details: Vec<String>) -> StepReport {
        self.details = details;
        self
    }

    pub fn ok(&self) -> bool {
        matches!(
            self.status,
            StepStatus::Passed | StepStatus::Skipped | StepStatus::Planned
        )
    }
}

/// Live progress, for the CLI to print as it happens.
pub enum Event<'a> {
    Started(&'a str),
    Done(&'a StepReport),
    /// Something worth saying mid-step (a retry, a wait).
    Note(String),
}
