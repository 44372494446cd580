//! Lint has no errors on the pending files, and this migration set passed `migrate --local`:
//! the same conditions `migrate` gates a protected database on, asked of every deploy.

use dbsage_core::config::Project;
use dbsage_core::migrations::MigrationFile;

use crate::step::{StepReport, StepStatus};

pub fn lint(
    project: &Project,
    files: &[MigrationFile],
    pending: &[&MigrationFile],
) -> dbsage_core::Result<StepReport> {
    let findings = dbsage_core::lint::lint_migrations(project, files)?;
    let errors: Vec<String> = dbsage_core::gates::gating_lint_errors(project, &findings, pending)
        .into_iter()
        .map(dbsage_core::gates::lint_error_line)
        .collect();
    Ok(if errors.is_empty() {
        StepReport::new(
            "preflight.lint",
            StepStatus::Passed,
            format!(
                "no lint errors in {}",
                dbsage_core::wording::plural(pending.len(), "pending file")
            ),
        )
    } else {
        StepReport::new(
            "preflight.lint",
            StepStatus::Refused,
            format!(
                "the linter found {} in the pending files: fix them (`dbsage lint` shows each with its fix)",
                dbsage_core::wording::plural(errors.len(), "error")
            ),
        )
        .with_details(errors)
    })
}

pub fn local_pass(project: &Project, files: &[MigrationFile]) -> StepReport {
    if dbsage_core::local::has_passed_locally(project, files) {
        StepReport::new(
            "preflight.local",
            StepStatus::Passed,
            "this migration set passed `dbsage migrate --local`",
        )
    } else {
        StepReport::new(
            "preflight.local",
            StepStatus::Refused,
            "this migration set has not passed `dbsage migrate --local`: run it first",
        )
    }
}
