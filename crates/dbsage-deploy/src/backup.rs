//! The backup step: `dbsage backup` of the target (pg_dump -Fd, manifest, checksums) before
//! anything changes; `--skip-backup` says so loudly and is recorded in the audit log.

use std::path::PathBuf;
use std::time::Instant;

use dbsage_core::config::Project;
use dbsage_core::env::Target;
use serde::Serialize;

use crate::step::{StepReport, StepStatus};

#[derive(Debug, Clone, Default, Serialize)]
pub struct BackupInfo {
    /// The backup's ID (`dbsage restore <id>`).
    pub id: Option<String>,
    pub dir: Option<PathBuf>,
    pub total_bytes: Option<u64>,
    /// Why there is none: `--skip-backup` and its reason.
    pub skipped: Option<String>,
}

pub fn take(project: &Project, target: &Target) -> dbsage_core::Result<(StepReport, BackupInfo)> {
    let started = Instant::now();
    let report = dbsage_backup::backup(
        project,
        target,
        &dbsage_backup::BackupOptions::default(),
        &dbsage_backup::dump::Silent,
    )?;
    let info = BackupInfo {
        id: Some(report.manifest.id.clone()),
        dir: Some(report.dir.clone()),
        total_bytes: Some(report.manifest.total_bytes),
        skipped: None,
    };
    let mut step = StepReport::new(
        "backup",
        StepStatus::Passed,
        format!(
            "backup {} ({} bytes) in {}",
            report.manifest.id,
            report.manifest.total_bytes,
            report.dir.display()
        ),
    );
    step.duration_ms = started.elapsed().as_millis() as u64;
    Ok((step, info))
}

pub fn skipped(reason: Option<&str>) -> (StepReport, BackupInfo) {
    let why = format!(
        "SKIPPED with --skip-backup ({}): there is no backup to restore from if this deploy goes wrong; recorded in the audit log",
        reason.unwrap_or("no reason given")
    );
    (
        StepReport::new("backup", StepStatus::Skipped, why.clone()),
        BackupInfo {
            skipped: Some(why),
            ..Default::default()
        },
    )
}
