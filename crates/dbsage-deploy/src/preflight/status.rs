//! `status` is consistent: no applied file edited or missing, nothing out of order, nothing
//! half-applied.

use dbsage_core::config::Project;
use dbsage_core::migrate::{self, State, StatusEntry};
use dbsage_core::migrations::MigrationFile;
use postgres::Client;

use crate::step::{StepReport, StepStatus};

pub fn check(
    client: &mut Client,
    project: &Project,
    files: &[MigrationFile],
) -> dbsage_core::Result<(StepReport, Vec<StatusEntry>)> {
    let entries = migrate::status(client, project, files)?;
    let partial: Vec<String> = entries
        .iter()
        .filter(|e| e.state == State::Partial)
        .map(|e| {
            format!(
                "{}_{} stopped midway (see `dbsage status`)",
                e.version, e.name
            )
        })
        .collect();
    if !partial.is_empty() {
        let report = StepReport::new(
            "preflight.status",
            StepStatus::Failed,
            "a no-transaction migration stopped midway: finish or repair it first",
        )
        .with_details(partial);
        return Ok((report, entries));
    }
    let report = match migrate::check_consistency(&entries, false) {
        Ok(()) => {
            let pending = entries.iter().filter(|e| e.state == State::Pending).count();
            StepReport::new(
                "preflight.status",
                StepStatus::Passed,
                format!(
                    "consistent; {} pending",
                    dbsage_core::wording::plural(pending, "migration")
                ),
            )
        }
        Err(dbsage_core::Error::Inconsistent { message, hint }) => {
            StepReport::new("preflight.status", StepStatus::Failed, message)
                .with_details(vec![hint])
        }
        Err(other) => return Err(other),
    };
    Ok((report, entries))
}

/// The files `entries` call pending, in order.
pub fn pending<'a>(entries: &[StatusEntry], files: &'a [MigrationFile]) -> Vec<&'a MigrationFile> {
    files
        .iter()
        .filter(|f| {
            entries
                .iter()
                .any(|e| e.version == f.version && e.state == State::Pending)
        })
        .collect()
}
