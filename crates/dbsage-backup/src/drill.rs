//! `dbsage backup drill`: the restore drill teams skip. Take a backup (or pick the latest),
//! restore it on a throwaway cluster and verify it ([`crate::verify::verify_then`]), run the
//! project's smoke tests (`tests/smoke/*.toml`, the policy-test format) on the restored
//! database, and record the achieved RPO (how old the restored data was) and RTO (measured
//! restore time) in `.dbsage/drills.json`, which `dbsage health` reads.

use std::path::{Path, PathBuf};

use dbsage_core::config::Project;
use dbsage_core::env::Target;
use serde::{Deserialize, Serialize};

use crate::manifest::Manifest;
use crate::verify::VerifyReport;
use crate::{BackupOptions, Progress};

pub const DRILLS_FILE: &str = "drills.json";
/// Smoke tests, relative to the project root.
pub const SMOKE_DIR: &str = "tests/smoke";
const FORMAT_VERSION: u32 = 1;
/// The log keeps the newest drills only.
const KEEP: usize = 200;

pub struct DrillOptions {
    /// Drill on the newest existing backup instead of taking one.
    pub latest: bool,
    pub jobs: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Drill {
    /// When the drill ran (RFC 3339, UTC) and as unix seconds.
    pub at: String,
    pub at_unix: i64,
    pub environment: String,
    pub backup_id: String,
    /// The data's moment: the start of the dump (its snapshot), RFC 3339.
    pub data_as_of: String,
    /// The backup was taken by this drill (false: `--latest`).
    pub took_backup: bool,
    /// Recovery point achieved: the restored data's age when the drill ran, seconds.
    pub rpo_seconds: i64,
    /// Recovery time achieved: roles + pg_restore on the throwaway cluster, measured.
    pub rto_ms: Option<u64>,
    pub verified: bool,
    pub smoke: Smoke,
    pub ok: bool,
    pub problems: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Smoke {
    /// `passed`, `failed` or `skipped`.
    pub status: String,
    pub passed: usize,
    pub failed: usize,
    pub note: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct DrillLog {
    pub format_version: u32,
    /// Oldest first.
    pub drills: Vec<Drill>,
}

impl DrillLog {
    /// The newest drill of an environment that passed.
    pub fn last_good(&self, environment: &str) -> Option<&Drill> {
        self.drills
            .iter()
            .rev()
            .find(|d| d.ok && d.environment == environment)
    }

    pub fn last(&self, environment: &str) -> Option<&Drill> {
        self.drills
            .iter()
            .rev()
            .find(|d| d.environment == environment)
    }
}

pub fn drill(
    project: &Project,
    target: &Target,
    options: &DrillOptions,
    progress: &dyn Progress,
) -> dbsage_core::Result<(Drill, VerifyReport)> {
    // Broken smoke tests are found before anything is restored (exit 2, with file:line).
    let smoke_tests = load_smoke_tests(&project.root.join(SMOKE_DIR))?;
    let (dir, took_backup) = if options.latest {
        (crate::locate(project, Some(&target.name), "latest")?, false)
    } else {
        let report = crate::backup(
            project,
            target,
            &BackupOptions {
                jobs: options.jobs,
                ..BackupOptions::default()
            },
            progress,
        )?;
        (report.dir, true)
    };
    let manifest = Manifest::read(&dir)?;
    progress.step("restoring on a throwaway cluster");
    let (report, smoke) = crate::verify::verify_then(
        &dir,
        options.jobs,
        |cluster, database| -> dbsage_core::Result<Smoke> {
            let Some(files) = &smoke_tests else {
                return Ok(Smoke {
                    status: "skipped".into(),
                    passed: 0,
                    failed: 0,
                    note: Some(format!("no smoke tests ({SMOKE_DIR}/*.toml): skipped")),
                });
            };
            let mut client = cluster.connect(database)?;
            // File by file: a file that cannot run on the copy (a table it reads is missing)
            // fails its own cases and leaves the other files to run.
            let (mut passed, mut failed, mut notes) = (0, 0, Vec::new());
            for file in files {
                match dbsage_secure::run_tests(&mut client, std::slice::from_ref(file)) {
                    Ok(run) => {
                        passed += run.passed;
                        failed += run.failed;
                        notes.extend(
                            run.cases
                                .iter()
                                .filter(|c| !c.passed)
                                .map(|c| format!("{} › {}: {}", c.file, c.name, c.message)),
                        );
                    }
                    Err(e) => {
                        failed += file.cases.len();
                        notes.push(e.to_string());
                    }
                }
            }
            Ok(Smoke {
                status: if failed == 0 { "passed" } else { "failed" }.into(),
                passed,
                failed,
                note: (failed > 0).then(|| notes.join("; ")),
            })
        },
    )?;
    let smoke = match smoke {
        Some(result) => result?,
        None => Smoke {
            status: "skipped".into(),
            passed: 0,
            failed: 0,
            note: Some("the backup was not restored, so no smoke test ran".into()),
        },
    };
    let now = time::OffsetDateTime::now_utc();
    let snapshot_unix = manifest.created_unix - (manifest.duration_ms / 1000) as i64;
    let mut problems: Vec<String> = report
        .file_problems
        .iter()
        .map(|p| p.message.clone())
        .collect();
    problems.extend(
        report
            .restore_errors
            .iter()
            .map(|e| format!("pg_restore: {}", e.message)),
    );
    if let Some(c) = &report.comparison {
        problems.extend(c.problems.iter().map(|p| p.message.clone()));
    }
    if let Some(note) = smoke.note.as_ref().filter(|_| smoke.status == "failed") {
        problems.push(format!("smoke tests failed: {note}"));
    }
    let drill = Drill {
        at: rfc3339(now),
        at_unix: now.unix_timestamp(),
        environment: target.name.clone(),
        backup_id: manifest.id.clone(),
        data_as_of: time::OffsetDateTime::from_unix_timestamp(snapshot_unix)
            .map(rfc3339)
            .unwrap_or_default(),
        took_backup,
        rpo_seconds: now.unix_timestamp() - snapshot_unix,
        rto_ms: report.restore_ms,
        verified: report.ok,
        ok: report.ok && smoke.status != "failed" && report.restore_ms.is_some(),
        smoke,
        problems,
    };
    record(project, &drill)?;
    Ok((drill, report))
}

/// `None` when the project has no smoke tests.
fn load_smoke_tests(dir: &Path) -> dbsage_core::Result<Option<Vec<dbsage_secure::TestFile>>> {
    let has_files = std::fs::read_dir(dir).is_ok_and(|entries| {
        entries
            .flatten()
            .any(|e| e.path().extension().is_some_and(|x| x == "toml"))
    });
    if !has_files {
        return Ok(None);
    }
    dbsage_secure::load_tests(dir)
        .map(Some)
        .map_err(|e| crate::config_error(format!("smoke tests: {e}"), format!("fix the files in {SMOKE_DIR}/ (the policy-test format: [[case]] name, sql, expect)")))
}

pub fn log_path(project: &Project) -> PathBuf {
    project.state_dir().join(DRILLS_FILE)
}

/// The drills recorded so far (an empty log when there is none).
pub fn read_log(project: &Project) -> dbsage_core::Result<DrillLog> {
    let path = log_path(project);
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(DrillLog::default()),
        Err(e) => {
            return Err(dbsage_core::Error::io(
                format!("reading {}", path.display()),
                e,
            ))
        }
    };
    serde_json::from_str(&text).map_err(|e| {
        crate::config_error(
            format!("{}:{}:{}: {e}", path.display(), e.line(), e.column()),
            "the drill log was edited by hand; fix it, or remove it and run `dbsage backup drill` again",
        )
    })
}

fn record(project: &Project, drill: &Drill) -> dbsage_core::Result<()> {
    let mut log = read_log(project)?;
    log.format_version = FORMAT_VERSION;
    log.drills.push(drill.clone());
    let excess = log.drills.len().saturating_sub(KEEP);
    log.drills.drain(..excess);
    let text = serde_json::to_string_pretty(&log).expect("a drill log serialises");
    project.write_state_file(DRILLS_FILE, &(text + "\n"))
}

fn rfc3339(t: time::OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}
