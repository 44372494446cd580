//! `requires = "staging"`: the environment deployed first must already have this exact
//! migration set applied (same versions, same checksums).

use dbsage_core::config::Project;
use dbsage_core::env::Target;
use dbsage_core::migrate::State;
use dbsage_core::migrations::MigrationFile;

use crate::step::{StepReport, StepStatus};

pub fn check(
    project: &Project,
    target: &Target,
    files: &[MigrationFile],
) -> dbsage_core::Result<StepReport> {
    let Some(required) = project
        .config
        .environments
        .get(&target.name)
        .and_then(|e| e.requires.clone())
    else {
        return Ok(StepReport::new(
            "preflight.requires",
            StepStatus::Skipped,
            "no `requires` for this environment",
        ));
    };
    let other = Target::resolve(project, Some(&required))?;
    let mut client = other.connect(project, "dbsage deploy (requires)")?;
    let entries = dbsage_core::migrate::status(&mut client, project, files)?;
    let missing: Vec<String> = entries
        .iter()
        .filter(|e| e.state != State::Applied)
        .map(|e| {
            let state = match e.state {
                State::Pending => "not applied",
                State::Modified => "applied with a different checksum",
                State::Missing => "applied there but its file is gone",
                State::Partial => "stopped midway",
                State::Applied => "applied",
            };
            format!("{}_{}: {state} on `{required}`", e.version, e.name)
        })
        .collect();
    Ok(if missing.is_empty() {
        StepReport::new(
            "preflight.requires",
            StepStatus::Passed,
            format!("`{required}` has this migration set applied"),
        )
    } else {
        StepReport::new(
            "preflight.requires",
            StepStatus::Refused,
            format!(
                "`{}` requires `{required}` first: {} of this migration set {} not deployed there (`dbsage deploy --env {required}`)",
                target.name,
                dbsage_core::wording::plural(missing.len(), "migration"),
                if missing.len() == 1 { "is" } else { "are" }
            ),
        )
        .with_details(missing)
    })
}
