//! `dbsage backup`, `backup list`, `backup verify` and `dbsage restore`: arguments, the gate for
//! `restore --replace` on a protected environment, a progress bar per table, rendering. The
//! workflow is `dbsage_backup`'s.

use std::io::IsTerminal;

use clap::{Args, Subcommand};
use serde_json::json;

use dbsage_backup::{BackupOptions, Content, RestoreOptions};
use dbsage_core::env::Target;
use dbsage_core::{gates, protection};

use crate::output::{Out, Style};

#[derive(Args, Debug)]
#[command(args_conflicts_with_subcommands = true)]
pub struct BackupArgs {
    #[command(subcommand)]
    pub action: Option<BackupAction>,
    /// Environment to back up: a name from dbsage.toml, `dev` (default), or DATABASE_URL.
    #[arg(long, short)]
    pub env: Option<String>,
    /// pg_dump's parallel jobs (one connection each).
    #[arg(long, default_value_t = 2)]
    pub jobs: u32,
    /// The schema only (no rows).
    #[arg(long, conflicts_with = "data_only")]
    pub schema_only: bool,
    /// The rows only (no schema); verify then checks the files only.
    #[arg(long)]
    pub data_only: bool,
    /// Supabase projects: keep the schemas Supabase manages (auth, storage, …), left out by default.
    #[arg(long)]
    pub include_managed: bool,
    /// Keep the roles' password hashes (pg_dumpall without --no-role-passwords; needs a superuser).
    #[arg(long)]
    pub with_role_passwords: bool,
}

#[derive(Subcommand, Debug)]
pub enum BackupAction {
    /// The backups taken, newest first.
    List(ListArgs),
    /// Restore a backup on a throwaway local cluster and compare it with its manifest.
    #[command(
        after_help = "Exit codes: 0 verified, 1 a file or table does not match (or the restore failed), 2 usage error (not a backup, newer format, older local server)."
    )]
    Verify(VerifyArgs),
    /// Restore drill: take (or --latest) a backup, restore and verify it, run tests/smoke, record RPO/RTO.
    Drill(super::backup_drill::DrillArgs),
}

#[derive(Args, Debug)]
pub struct ListArgs {
    /// Only this environment's backups.
    #[arg(long, short)]
    pub env: Option<String>,
}

#[derive(Args, Debug)]
pub struct VerifyArgs {
    /// A backup ID (`dbsage backup list`), `latest`, or a backup folder.
    #[arg(default_value = "latest")]
    pub backup: String,
    /// Look for the ID among this environment's backups (default: all).
    #[arg(long, short)]
    pub env: Option<String>,
    /// pg_restore's parallel jobs.
    #[arg(long, default_value_t = 2)]
    pub jobs: u32,
}

#[derive(Args, Debug)]
pub struct RestoreArgs {
    /// A backup ID (`dbsage backup list`), `latest`, or a backup folder.
    pub backup: String,
    /// The environment whose server receives the backup.
    #[arg(long, short)]
    pub env: Option<String>,
    /// The new database's name (default `<database>_restored_<id>`).
    #[arg(long, conflicts_with = "replace")]
    pub into: Option<String>,
    /// Drop and recreate the environment's own database (a fresh backup of it is taken first).
    #[arg(long)]
    pub replace: bool,
    /// With --replace on a protected environment: do not ask for its name (for scripts).
    #[arg(long, short)]
    pub yes: bool,
    /// pg_restore's parallel jobs.
    #[arg(long, default_value_t = 2)]
    pub jobs: u32,
}

/// One bar over the tables on a terminal; nothing otherwise.
struct Bar(Option<indicatif::ProgressBar>);

impl Bar {
    fn new(out: &Out) -> Bar {
        Bar(
            (std::io::stderr().is_terminal() && !out.json_mode()).then(|| {
                let bar = indicatif::ProgressBar::new(0);
                bar.set_style(
                    indicatif::ProgressStyle::with_template("{bar:30} {pos}/{len} tables {msg}")
                        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
                );
                bar
            }),
        )
    }
    fn finish(&self) {
        if let Some(bar) = &self.0 {
            bar.finish_and_clear();
        }
    }
}

impl dbsage_backup::Progress for Bar {
    fn tables(&self, total: usize) {
        if let Some(bar) = &self.0 {
            bar.set_length(total as u64);
        }
    }
    fn table_dumped(&self, name: &str) {
        if let Some(bar) = &self.0 {
            bar.inc(1);
            bar.set_message(name.to_string());
        }
    }
    fn step(&self, what: &str) {
        if let Some(bar) = &self.0 {
            bar.set_message(what.to_string());
        }
    }
}

pub fn run(args: BackupArgs, out: &Out) -> dbsage_core::Result<i32> {
    match args.action {
        Some(BackupAction::List(a)) => return list(a, out),
        Some(BackupAction::Verify(a)) => return verify(a, out),
        Some(BackupAction::Drill(a)) => {
            let bar = Bar::new(out);
            let result = super::backup_drill::run(a, out, &bar);
            bar.finish();
            return result;
        }
        None => {}
    }
    let project = super::project()?;
    let target = Target::resolve(&project, args.env.as_deref())?;
    super::announce(out, &target);
    let options = BackupOptions {
        jobs: args.jobs,
        content: if args.schema_only {
            Content::SchemaOnly
        } else if args.data_only {
            Content::DataOnly
        } else {
            Content::Full
        },
        include_managed: args.include_managed,
        role_passwords: args.with_role_passwords,
    };
    let bar = Bar::new(out);
    let result = dbsage_backup::backup(&project, &target, &options, &bar);
    bar.finish();
    let report = result?;
    let m = &report.manifest;
    let rows: i64 = m.tables.iter().filter_map(|t| t.rows).sum();
    if out.json_mode() {
        out.json(&json!({
            "id": m.id, "environment": m.environment, "database": m.database,
            "dir": super::display_path(&report.dir), "content": m.content,
            "server_version": m.server_version, "pg_dump_version": m.pg_dump_version,
            "tables": m.tables.len(), "rows": rows, "files": m.files.len(), "bytes": m.total_bytes,
            "duration_ms": m.duration_ms, "excluded_schemas": m.excluded_schemas,
            "removed": report.removed,
        }));
        return Ok(0);
    }
    out.status(
        "Backed up",
        &format!(
            "{} of `{}` (database {}, PostgreSQL {}) → {}",
            m.id,
            m.environment,
            m.database,
            m.server_version,
            super::display_path(&report.dir)
        ),
    );
    out.line(&format!(
        "  {} tables, {rows} rows (counted in the dump's snapshot), {} files, {}, {:.1} s, pg_dump {}",
        m.tables.len(),
        m.files.len(),
        human_bytes(m.total_bytes),
        m.duration_ms as f64 / 1000.0,
        m.pg_dump_version
    ));
    if !m.excluded_schemas.is_empty() {
        out.line(&format!(
            "  left out, managed by Supabase: {} (--include-managed keeps them)",
            m.excluded_schemas.join(", ")
        ));
    }
    if !report.removed.is_empty() {
        out.line(&format!(
            "  retention removed: {}",
            report.removed.join(", ")
        ));
    }
    out.line(&format!(
        "  checked with pg_restore --list; prove it restores: dbsage backup verify {}",
        m.id
    ));
    Ok(0)
}

fn list(args: ListArgs, out: &Out) -> dbsage_core::Result<i32> {
    let project = super::project()?;
    let backups = dbsage_backup::list(&project, args.env.as_deref())?;
    if out.json_mode() {
        let items: Vec<serde_json::Value> = backups
            .iter()
            .map(|b| {
                json!({
                    "id": b.id, "environment": b.environment, "state": b.state,
                    "dir": super::display_path(&b.dir), "created_at": b.created_at,
                    "database": b.database, "content": b.content, "bytes": b.total_bytes,
                    "tables": b.tables, "rows": b.rows, "duration_ms": b.duration_ms,
                    "last_verify": b.last_verify,
                })
            })
            .collect();
        out.json(&json!({ "backups": items }));
        return Ok(0);
    }
    if backups.is_empty() {
        out.line("no backups yet: `dbsage backup --env ENV` takes one");
        return Ok(0);
    }
    for b in &backups {
        let verified = match &b.last_verify {
            Some(v) if v["ok"] == json!(true) => out.paint("verified", Style::Good),
            Some(_) => out.paint("verify FAILED", Style::Bad),
            None if b.state == "complete" => out.paint("not verified", Style::Dim),
            None => out.paint("unfinished", Style::Warn),
        };
        out.line(&format!(
            "{}  {:<10} {:<12} {:>9}  {:>4} tables  {:>10} rows  {verified}",
            b.id,
            b.environment,
            b.content.as_deref().unwrap_or("-"),
            b.total_bytes.map(human_bytes).unwrap_or_default(),
            b.tables.unwrap_or(0),
            b.rows.unwrap_or(0),
        ));
    }
    Ok(0)
}

fn verify(args: VerifyArgs, out: &Out) -> dbsage_core::Result<i32> {
    let project = super::project()?;
    let dir = dbsage_backup::locate(&project, args.env.as_deref(), &args.backup)?;
    let report = dbsage_backup::verify(&dir, args.jobs)?;
    let code = if report.ok { 0 } else { 1 };
    if out.json_mode() {
        let mut value = serde_json::to_value(&report).expect("a report serialises");
        value["dir"] = json!(super::display_path(&report.dir));
        out.json(&value);
        return Ok(code);
    }
    out.line(&format!(
        "Backup {} of `{}` (database {}, PostgreSQL {}, taken {})",
        report.id, report.environment, report.database, report.server_version, report.created_at
    ));
    let mut problems: Vec<String> = report
        .file_problems
        .iter()
        .map(|p| p.message.clone())
        .collect();
    out.line(&format!(
        "  files: {} checked against the manifest ({}){}",
        report.files,
        human_bytes(report.total_bytes),
        if problems.is_empty() {
            ", all match"
        } else {
            ""
        }
    ));
    if let (Some(ms), Some(on)) = (report.restore_ms, &report.restored_on) {
        out.line(&format!(
            "  restored on {on} in {:.2} s (measured RTO), {} on disk",
            ms as f64 / 1000.0,
            human_bytes(report.restored_bytes.unwrap_or(0) as u64)
        ));
    }
    for e in &report.restore_errors {
        problems.push(format!(
            "pg_restore: {}{}",
            e.message,
            e.command
                .as_ref()
                .map(|c| format!(" (while running: {c})"))
                .unwrap_or_default()
        ));
    }
    if let Some(c) = &report.comparison {
        out.line(&format!(
            "  {} tables, {} rows compared with the manifest; {} content checksums; {} foreign keys; {} indexes (amcheck)",
            c.tables, c.rows, c.checksums, c.foreign_keys, c.indexes
        ));
        if let Some(note) = &c.amcheck_note {
            out.warn(note);
        }
        problems.extend(c.problems.iter().map(|p| p.message.clone()));
    }
    if let Some(note) = &report.note {
        out.line(&format!("  {note}"));
    }
    if problems.is_empty() {
        out.status(
            "Verified",
            &format!("backup {} restores and matches its manifest", report.id),
        );
    } else {
        out.line(&out.paint(
            &format!(
                "backup {} FAILED verification ({} problems):",
                report.id,
                problems.len()
            ),
            Style::Bad,
        ));
        for p in problems {
            out.line(&format!("  - {p}"));
        }
    }
    Ok(code)
}

pub fn run_restore(args: RestoreArgs, out: &Out) -> dbsage_core::Result<i32> {
    let project = super::project()?;
    let target = Target::resolve(&project, args.env.as_deref())?;
    let dir = dbsage_backup::locate(&project, None, &args.backup)?;
    let manifest = dbsage_backup::Manifest::read(&dir)?;
    super::announce(out, &target);
    let mut confirmation = None;
    if args.replace {
        let (_, protection) = target.connect_protected(&project, "dbsage restore")?;
        if let Some(protection) = &protection {
            let plan = [
                format!("would back up `{}`, then DROP its database and restore backup {} (taken {}) in its place", target.name, manifest.id, manifest.created_at),
            ];
            confirmation = Some(gates::confirm_protected(
                &target,
                protection,
                "replace the database of",
                &plan,
                args.yes,
                &mut |p| out.ask(p),
            )?);
        }
    }
    let options = RestoreOptions {
        into: args.into.clone(),
        replace: args.replace,
        jobs: args.jobs,
    };
    let bar = Bar::new(out);
    let result = dbsage_backup::restore(&project, &target, &dir, &options, &bar);
    bar.finish();
    let report = result?;
    if let Some(confirmed) = &confirmation {
        let mut client = target.connect(&project, "dbsage restore")?;
        protection::record_event(
            &mut client,
            &project,
            "restored",
            confirmed,
            json!({ "backup": report.id, "safety_backup": report.safety_backup }),
        )?;
    }
    let code = if report.ok { 0 } else { 1 };
    if out.json_mode() {
        out.json(&serde_json::to_value(&report).expect("a report serialises"));
        return Ok(code);
    }
    if let Some(safety) = &report.safety_backup {
        out.line(&format!(
            "  backed up `{}` first: backup {safety}",
            target.name
        ));
    }
    out.line(&format!(
        "Restored backup {} into database `{}` in {:.2} s; roles created: {}, kept as they were: {}",
        report.id,
        report.database,
        report.restore_ms as f64 / 1000.0,
        list_or_none(&report.roles.created),
        list_or_none(&report.roles.kept)
    ));
    if !report.expected_errors.is_empty() {
        out.line(&format!(
            "  {} errors expected on a managed platform (objects the platform owns):",
            report.expected_errors.len()
        ));
        for e in &report.expected_errors {
            out.line(&format!("    {}", e.message));
        }
    }
    let c = &report.comparison;
    out.line(&format!(
        "  verified: {} tables, {} rows, {} checksums, {} foreign keys, {} indexes (amcheck)",
        c.tables, c.rows, c.checksums, c.foreign_keys, c.indexes
    ));
    let mut problems: Vec<String> = report
        .failures
        .iter()
        .map(|e| format!("pg_restore: {}", e.message))
        .collect();
    problems.extend(c.problems.iter().map(|p| p.message.clone()));
    if problems.is_empty() {
        for line in &report.switch {
            out.line(line);
        }
    } else {
        out.line(&out.paint(
            &format!("restore FAILED ({} problems):", problems.len()),
            Style::Bad,
        ));
        for p in problems {
            out.line(&format!("  - {p}"));
        }
    }
    Ok(code)
}

fn list_or_none(items: &[String]) -> String {
    if items.is_empty() {
        "none".into()
    } else {
        items.join(", ")
    }
}

pub(super) fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KB", "MB", "GB", "TB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}
