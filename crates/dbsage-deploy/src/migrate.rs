//! The migrate step: the protected `migrate::run` path under `[deploy] lock_timeout`, tried
//! again with a doubling backoff when a statement times out waiting for a lock (55P03). Each
//! migration is its own transaction, so a retry starts at the one that waited.

use std::time::{Duration, Instant};

use dbsage_core::config::Project;
use dbsage_core::migrate::{self, Progress, RunOptions};
use dbsage_core::migrations::MigrationFile;
use postgres::Client;
use serde::Serialize;

use crate::config::DeployConfig;

/// One migration as the deploy ran it.
#[derive(Debug, Clone, Serialize)]
pub struct MigrationRun {
    pub version: String,
    pub name: String,
    pub duration_ms: u64,
    /// 1 when it went through first time.
    pub attempts: u32,
    /// Time lost in attempts that timed out waiting for a lock.
    pub lock_wait_ms: u64,
    /// The locks it took (rehearsal only: sampled from pg_locks).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub locks: Vec<String>,
}

pub struct MigrateOutcome {
    pub applied: Vec<MigrationRun>,
    /// The failure that stopped the step (after the retries).
    pub error: Option<dbsage_core::Error>,
}

/// The project as the deploy migrates it: `[deploy] lock_timeout` instead of `[migrate]`'s.
pub fn deploy_project(project: &Project, config: &DeployConfig) -> Project {
    let mut project = project.clone();
    project.config.migrate.lock_timeout = config.lock_timeout.clone();
    project
}

pub fn apply(
    client: &mut Client,
    project: &Project,
    files: &[MigrationFile],
    config: &DeployConfig,
    audit: Vec<(String, String)>,
    progress: &mut dyn FnMut(Progress),
    note: &mut dyn FnMut(String),
) -> MigrateOutcome {
    let project = deploy_project(project, config);
    let mut applied: Vec<MigrationRun> = Vec::new();
    // Lock waits of the migration that timed out, carried into its successful attempt.
    let mut waits: Vec<(String, u32, u64)> = Vec::new();
    let mut backoff = config.backoff();
    let mut audit = audit;
    for attempt in 0..=config.retries {
        let started = Instant::now();
        let mut this_attempt: Vec<migrate::AppliedMigration> = Vec::new();
        let result = migrate::run(
            client,
            &project,
            files,
            &mut RunOptions {
                // The audit events go in once, with the first attempt.
                audit: std::mem::take(&mut audit),
                ..Default::default()
            },
            &mut |p| {
                if let Progress::Applied(a) = &p {
                    this_attempt.push((*a).clone());
                }
                progress(p)
            },
        );
        for a in &this_attempt {
            let (attempts, lock_wait_ms) = waits
                .iter()
                .find(|(v, _, _)| *v == a.version)
                .map(|(_, n, ms)| (n + 1, *ms))
                .unwrap_or((1, 0));
            applied.push(MigrationRun {
                version: a.version.clone(),
                name: a.name.clone(),
                duration_ms: a.duration_ms,
                attempts,
                lock_wait_ms,
                locks: Vec::new(),
            });
        }
        let error = match result {
            Ok(_) => {
                return MigrateOutcome {
                    applied,
                    error: None,
                }
            }
            Err(e) => e,
        };
        let timed_out = match &error {
            dbsage_core::Error::Migration(m) if m.sqlstate == "55P03" => Some(m.file.clone()),
            _ => None,
        };
        let Some(path) = timed_out.filter(|_| attempt < config.retries) else {
            return MigrateOutcome {
                applied,
                error: Some(error),
            };
        };
        let Some(file) = files
            .iter()
            .find(|f| f.path == path || f.down.as_ref().is_some_and(|d| d.path == path))
        else {
            return MigrateOutcome {
                applied,
                error: Some(error),
            };
        };
        let spent: u64 = this_attempt.iter().map(|a| a.duration_ms).sum();
        let lost = (started.elapsed().as_millis() as u64).saturating_sub(spent);
        match waits.iter_mut().find(|(v, _, _)| *v == file.version) {
            Some(w) => {
                w.1 += 1;
                w.2 += lost;
            }
            None => waits.push((file.version.clone(), 1, lost)),
        }
        note(format!(
            "{} timed out waiting for a lock (lock_timeout {}); retry {} of {} in {} ms",
            file.label(),
            config.lock_timeout,
            attempt + 1,
            config.retries,
            backoff.as_millis()
        ));
        std::thread::sleep(backoff);
        backoff = (backoff * 2).min(Duration::from_secs(60));
    }
    unreachable!("the last attempt returns")
}
