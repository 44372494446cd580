//! `dbsage pitr backup [--type full|diff|incr]`: a pgBackRest backup of a stanza `pitr setup`
//! configured; the report is pgBackRest's own record of it (`info`).

use dbsage_core::config::Project;
use dbsage_core::env::Target;

use super::config::PitrConfig;
use super::pgbackrest::{BackupInfo, PgBackRest};

#[derive(Debug, Clone, serde::Serialize)]
pub struct PitrBackupReport {
    pub environment: String,
    pub stanza: String,
    pub backup: BackupInfo,
    /// Backups the stanza holds now (retention applied by pgBackRest).
    pub backups: usize,
    pub duration_ms: u64,
}

pub const KINDS: &[&str] = &["full", "diff", "incr"];

pub fn backup(
    project: &Project,
    target: &Target,
    kind: &str,
) -> dbsage_core::Result<PitrBackupReport> {
    super::setup::refuse_managed(project, target)?;
    if !KINDS.contains(&kind) {
        return Err(crate::config_error(
            format!("--type {kind}: pgBackRest takes full, diff or incr"),
            "full copies everything; diff what changed since the last full; incr since the last backup",
        ));
    }
    let tool = configured(project, &target.name)?;
    let started = std::time::Instant::now();
    tool.run("backup", &[format!("--type={kind}")])?;
    let duration_ms = started.elapsed().as_millis() as u64;
    let info = tool.info()?;
    let backup = info.backups.last().cloned().ok_or_else(|| {
        crate::failed(
            "pgbackrest backup succeeded but `pgbackrest info` lists no backup",
            "run `pgbackrest info` with the config under .dbsage/pitr to see the repository",
        )
    })?;
    Ok(PitrBackupReport {
        environment: target.name.clone(),
        stanza: tool.stanza,
        backups: info.backups.len(),
        backup,
        duration_ms,
    })
}

/// The stanza `pitr setup` configured for an environment, run as its data directory's owner.
pub(crate) fn configured(project: &Project, environment: &str) -> dbsage_core::Result<PgBackRest> {
    let config = PitrConfig::of(project)?;
    let stanza = config.stanza(environment);
    let file = config.config_file(project, &stanza);
    if !file.is_file() {
        return Err(crate::config_error(
            format!("point-in-time recovery is not set up for `{environment}` (no {})", file.display()),
            format!("run `dbsage pitr setup --env {environment} --data-dir DIR` on the server's machine first"),
        ));
    }
    // The repository was given to the server's OS user at setup; the data directory may be
    // the thing that is gone.
    let run_as = super::pgbackrest::owner_of(&config.repo(project))?;
    Ok(PgBackRest {
        config: file,
        stanza,
        run_as,
    })
}
