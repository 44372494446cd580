//! `dbsage pitr setup|backup|restore`: point-in-time recovery through pgBackRest, rendered. The
//! workflow is `dbsage_backup::pitr`'s.

use std::path::PathBuf;

use clap::{Args, Subcommand};

use dbsage_backup::pitr::{self, PitrRestoreOptions};
use dbsage_core::env::Target;

use crate::output::{Out, Style};

#[derive(Args, Debug)]
pub struct PitrArgs {
    #[command(subcommand)]
    pub action: PitrAction,
}

#[derive(Subcommand, Debug)]
pub enum PitrAction {
    /// Write the pgBackRest stanza config (.dbsage/pitr), set archive_command, stanza-create, check.
    #[command(
        after_help = "Exit codes: 0 set up and checked, 1 pgBackRest failed or a restart is needed, 2 usage error (managed platform, wrong data directory)."
    )]
    Setup(SetupArgs),
    /// Take a pgBackRest backup (full, diff or incr).
    Backup(PitrBackupArgs),
    /// Restore to a moment into a new data directory, start it and verify it.
    #[command(
        after_help = "Exit codes: 0 restored and verified, 1 failed (or a check failed), 2 usage error (--to before the first backup, --into not empty, managed platform)."
    )]
    Restore(PitrRestoreArgs),
}

#[derive(Args, Debug)]
pub struct SetupArgs {
    /// The environment whose server gets archiving (a superuser's URL).
    #[arg(long, short)]
    pub env: Option<String>,
    /// The server's data directory, on this machine.
    #[arg(long)]
    pub data_dir: PathBuf,
}

#[derive(Args, Debug)]
pub struct PitrBackupArgs {
    #[arg(long, short)]
    pub env: Option<String>,
    /// full, diff (since the last full) or incr (since the last backup).
    #[arg(long = "type", default_value = "full")]
    pub kind: String,
}

#[derive(Args, Debug)]
pub struct PitrRestoreArgs {
    #[arg(long, short)]
    pub env: Option<String>,
    /// The moment to restore to, with its UTC offset: "2026-12-01 10:00:00+00".
    #[arg(long)]
    pub to: String,
    /// A new (or empty) folder for the restored data directory.
    #[arg(long)]
    pub into: PathBuf,
    /// The port the restored server listens on (127.0.0.1; default: a free one).
    #[arg(long)]
    pub port: Option<u16>,
}

pub fn run(args: PitrArgs, out: &Out) -> dbsage_core::Result<i32> {
    let project = super::project()?;
    match args.action {
        PitrAction::Setup(a) => {
            let target = Target::resolve(&project, a.env.as_deref())?;
            super::announce(out, &target);
            let report = pitr::setup(&project, &target, &a.data_dir)?;
            let code = if report.checked { 0 } else { 1 };
            if out.json_mode() {
                out.json(&serde_json::to_value(&report).expect("a report serialises"));
                return Ok(code);
            }
            out.status(
                "Configured",
                &format!(
                    "stanza {} for `{}` (PostgreSQL {}, data {}), pgBackRest runs as {}",
                    report.stanza,
                    report.environment,
                    report.server_version,
                    report.data_dir.display(),
                    report.os_user
                ),
            );
            out.line(&format!(
                "  config: {}",
                super::display_path(&report.config_file)
            ));
            out.line(&format!(
                "  repository: {}",
                super::display_path(&report.repo)
            ));
            out.line(&format!("  archive_command = '{}'", report.archive_command));
            if !report.reloaded.is_empty() {
                out.line(&format!(
                    "  ALTER SYSTEM + reload (no restart needed): {}",
                    report.reloaded.join(", ")
                ));
            }
            if report.checked {
                out.line(
                    "  pgbackrest stanza-create and check passed (a WAL segment was archived)",
                );
                out.line(&format!(
                    "  next: dbsage pitr backup --env {} --type full",
                    report.environment
                ));
            } else {
                out.warn(&format!(
                    "ALTER SYSTEM set {}, which takes effect on a RESTART only (dbsage does not restart your server): restart it (e.g. pg_ctl restart -D {}), then run `dbsage pitr setup` again to check archiving",
                    report.restart_needed.join(", "),
                    report.data_dir.display()
                ));
            }
            Ok(code)
        }
        PitrAction::Backup(a) => {
            let target = Target::resolve(&project, a.env.as_deref())?;
            super::announce(out, &target);
            let report = pitr::backup(&project, &target, &a.kind)?;
            if out.json_mode() {
                out.json(&serde_json::to_value(&report).expect("a report serialises"));
                return Ok(0);
            }
            let b = &report.backup;
            out.status(
                "Backed up",
                &format!(
                    "{} ({}) of stanza {} in {:.1} s: {} of data, {} stored",
                    b.label,
                    b.kind,
                    report.stanza,
                    report.duration_ms as f64 / 1000.0,
                    human_bytes(b.size),
                    human_bytes(b.repo_size)
                ),
            );
            out.line(&format!(
                "  restorable to any moment from {} on: dbsage pitr restore --env {} --to \"…+00\" --into DIR",
                pitr::target_time::rfc3339(b.stop),
                report.environment
            ));
            Ok(0)
        }
        PitrAction::Restore(a) => {
            let target = Target::resolve(&project, a.env.as_deref())?;
            super::announce(out, &target);
            let options = PitrRestoreOptions {
                to: a.to.clone(),
                into: a.into.clone(),
                port: a.port,
            };
            let report = pitr::restore(&project, &target, &options)?;
            let code = if report.ok { 0 } else { 1 };
            if out.json_mode() {
                out.json(&serde_json::to_value(&report).expect("a report serialises"));
                return Ok(code);
            }
            out.status(
                "Restored",
                &format!(
                    "`{}` as of {} into {} (PostgreSQL {}, port {}, running as {})",
                    report.environment,
                    report.target_time,
                    report.data_dir.display(),
                    report.server_version,
                    report.port,
                    report.os_user
                ),
            );
            if let Some(b) = &report.backup {
                out.line(&format!(
                    "  from backup {} ({}), then WAL replayed",
                    b.label, b.kind
                ));
            }
            if let Some(stopped) = &report.stopped {
                out.line(&format!("  {stopped}"));
            }
            for t in &report.tablespaces {
                out.line(&format!(
                    "  tablespace {} restored into {}",
                    t.name, t.location
                ));
            }
            out.line(&format!(
                "  files restored in {:.1} s, recovered and promoted in {:.1} s",
                report.restore_ms as f64 / 1000.0,
                report.recovery_ms as f64 / 1000.0
            ));
            for db in &report.databases {
                out.line(&format!(
                    "  database {}: {} tables, {} rows (exact counts), {} indexes checked with amcheck",
                    db.database,
                    db.tables.len(),
                    db.rows,
                    db.indexes
                ));
                if let Some(note) = &db.amcheck_note {
                    out.warn(note);
                }
                for p in &db.problems {
                    out.line(&out.paint(&format!("    - {p}"), Style::Bad));
                }
            }
            for line in &report.usage {
                out.line(&format!("  {line}"));
            }
            Ok(code)
        }
    }
}

fn human_bytes(bytes: u64) -> String {
    let mb = bytes as f64 / (1024.0 * 1024.0);
    if mb >= 1.0 {
        format!("{mb:.1} MB")
    } else {
        format!("{:.1} KB", bytes as f64 / 1024.0)
    }
}
