//! `dbsage health`'s `backup_drill` check from the project's files: the environment's backups
//! (`dbsage_backup::list`) and drills (`.dbsage/drills.json`). Skipped (none) for an
//! environment that was never backed up.

use dbsage_backup::drill::DrillLog;
use dbsage_core::config::Project;
use dbsage_tune::health::backup_drill::{self, DrillSeen};
use dbsage_tune::health::{CheckReport, HealthReport};

pub fn check(project: &Project, environment: &str) -> dbsage_core::Result<Option<CheckReport>> {
    if dbsage_backup::list(project, Some(environment))?.is_empty() {
        return Ok(None);
    }
    let max_age = dbsage_backup::BackupConfig::of(project)?.drill_max_age_seconds()?;
    let log: DrillLog = dbsage_backup::drill::read_log(project)?;
    let seen = |d: &dbsage_backup::drill::Drill| DrillSeen {
        at_unix: d.at_unix,
        ok: d.ok,
        backup_id: d.backup_id.clone(),
    };
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    Ok(Some(backup_drill::check(
        environment,
        log.last_good(environment).map(seen).as_ref(),
        log.last(environment).map(seen).as_ref(),
        max_age,
        now,
    )))
}

/// Adds the check to a round's report; the overall status follows it.
pub fn add_to(
    report: &mut HealthReport,
    project: &Project,
    environment: &str,
) -> dbsage_core::Result<()> {
    if let Some(check) = check(project, environment)? {
        report.status = report.status.worst(check.status);
        report.exit_code = report.status.exit_code();
        report.checks.push(check);
    }
    Ok(())
}
