//! `status`, `tune` and `drift` on a fleet environment (`health`: `fleet_health`): read-only closures per database for
//! the fan-out runner, each connecting as the single-environment command does.

use serde_json::json;

use dbsage_core::config::Project;
use dbsage_core::env::Target;
use dbsage_core::fleet::Fleet;
use dbsage_core::migrate::{self, State};
use dbsage_core::migrations::MigrationFile;
use dbsage_core::Result;

use super::fleet::{self as fleet_cli, FleetArgs, Row};
use crate::output::Out;

/// `dbsage status --env FLEET`: applied/pending per database; an inconsistent history fails.
pub fn status(
    project: &Project,
    files: &[MigrationFile],
    fleet: &Fleet,
    args: &FleetArgs,
    out: &Out,
) -> i32 {
    fleet_cli::announce(out, fleet);
    let work = |target: &Target| -> Result<Row> {
        let mut client = target.connect(project, "dbsage status")?;
        let entries = migrate::status(&mut client, project, files)?;
        let count = |state: State| entries.iter().filter(|e| e.state == state).count();
        let inconsistent = count(State::Modified) + count(State::Missing) + count(State::Partial);
        let mut row = Row::ok(super::status::summary(&entries));
        if inconsistent > 0 {
            row.result = "inconsistent".into();
            row.failed = true;
        }
        row.version = entries
            .iter()
            .filter(|e| e.state == State::Applied)
            .map(|e| e.version.clone())
            .next_back();
        row.json
            .insert("applied".into(), json!(count(State::Applied)));
        row.json
            .insert("pending".into(), json!(count(State::Pending)));
        row.json.insert("migrations".into(), json!(entries));
        Ok(row)
    };
    let report = fleet_cli::run(out, fleet, args, &work);
    fleet_cli::render(out, fleet, "status", &report)
}

/// `dbsage tune --env FLEET`: each database's findings; error-severity findings fail it.
pub fn tune(
    project: &Project,
    options: &dbsage_tune::TuneOptions,
    fleet: &Fleet,
    args: &FleetArgs,
    out: &Out,
) -> i32 {
    fleet_cli::announce(out, fleet);
    let work = |target: &Target| -> Result<Row> {
        let mut client = target.connect(project, "dbsage tune")?;
        let report = dbsage_tune::tune(&mut client, options).map_err(super::tune::tune_error)?;
        let errors = report
            .findings
            .iter()
            .filter(|f| f.severity == dbsage_catalog::finding::Severity::Error)
            .count();
        let mut checks: Vec<&str> = report.findings.iter().map(|f| f.check.as_str()).collect();
        checks.sort_unstable();
        checks.dedup();
        let mut row = Row::ok(if report.findings.is_empty() {
            "no findings".into()
        } else {
            format!(
                "{} ({})",
                dbsage_core::wording::plural(report.findings.len(), "finding"),
                checks.join(", ")
            )
        });
        if errors > 0 {
            row.result = "errors".into();
            row.failed = true;
        }
        row.json.insert("findings".into(), json!(report.findings));
        row.json.insert("withheld".into(), json!(report.withheld));
        Ok(row)
    };
    let report = fleet_cli::run(out, fleet, args, &work);
    fleet_cli::render(out, fleet, "tune", &report)
}

/// `dbsage drift --env FLEET`: each database's live schema against the history it applied;
/// a database that drifted fails its row and lists the objects.
pub fn drift(
    project: &Project,
    files: &[MigrationFile],
    fleet: &Fleet,
    args: &FleetArgs,
    out: &Out,
) -> i32 {
    fleet_cli::announce(out, fleet);
    let work = |target: &Target| -> Result<Row> {
        let mut client = target.connect(project, "dbsage drift")?;
        let report = dbsage_diff::drift::check_applied(project, files, &mut client)?;
        let mut row = Row::ok(if report.has_drift() {
            let objects: Vec<&str> = report
                .differences
                .iter()
                .map(|d| d.object.as_str())
                .collect();
            format!(
                "{} differ: {}",
                dbsage_core::wording::plural(objects.len(), "object"),
                objects.join(", ")
            )
        } else {
            "no drift".into()
        });
        if report.has_drift() {
            row.result = "drift".into();
            row.failed = true;
        }
        row.json
            .insert("differences".into(), json!(report.differences));
        Ok(row)
    };
    let report = fleet_cli::run(out, fleet, args, &work);
    fleet_cli::render(out, fleet, "drift", &report)
}
