use clap::{Args, Subcommand};
use serde_json::json;

use dbsage_cluster::DevCluster;

use crate::output::Out;

#[derive(Args, Debug)]
pub struct DevArgs {
    #[command(subcommand)]
    pub action: DevAction,
}

#[derive(Subcommand, Debug)]
pub enum DevAction {
    /// Start the dev database (created from a template on first use).
    Start,
    /// Stop it (data is kept).
    Stop,
    /// Is it running, where, and how far migrated.
    Status,
    /// Print its connection URL, with the generated password (kept in .dbsage/dev/password).
    Url,
    /// Open psql on it.
    Psql,
    /// Drop it, recreate it, apply every migration and the seed file.
    Reset,
}

/// Terminal settings psql needs interactively, passed on besides what `child_command` keeps;
/// none of them holds a secret.
pub(crate) const PSQL_TERMINAL_VARS: &[&str] = &[
    "TERM",
    "HOME",
    "PAGER",
    "PSQL_PAGER",
    "EDITOR",
    "VISUAL",
    "PSQL_EDITOR",
    "PSQLRC",
    "PSQL_HISTORY",
];

pub fn run(args: DevArgs, out: &Out) -> dbsage_core::Result<i32> {
    let project = super::project()?;
    let target = dbsage_core::pg_version::resolve(&project)?;
    let mut dev = match dbsage_core::pg_version::open_dev_for(&project, &target) {
        // Stopping needs no particular version: a server stays stoppable when the project
        // moved to a version that is not installed yet.
        Err(_) if matches!(args.action, DevAction::Stop) => DevCluster::open(&project.root)?,
        opened => opened?,
    };
    dbsage_core::server_settings::configure_dev(&project, &mut dev)?;
    // Only `dev url` prints the password; everything else shows the URL without it.
    let shown_url = |dev: &DevCluster| dbsage_core::connect::redact(&dev.url());
    match args.action {
        DevAction::Start => {
            let started = dev.ensure_running()?;
            if out.json_mode() {
                out.json(&json!({ "running": true, "started": started, "url": shown_url(&dev) }));
            } else {
                out.status(
                    if started { "Started" } else { "Running" },
                    &shown_url(&dev),
                );
            }
        }
        DevAction::Stop => {
            let stopped = dev.stop()?;
            if out.json_mode() {
                out.json(&json!({ "running": false, "stopped": stopped }));
            } else {
                out.status(
                    "Stopped",
                    if stopped {
                        "dev database"
                    } else {
                        "dev database (was not running)"
                    },
                );
            }
        }
        DevAction::Status => {
            let pid = dev.running_pid();
            // Data of another major version: the server cannot serve it, only a reset helps.
            let mismatch = dev.check_version().err();
            let applied = match pid {
                Some(_) if mismatch.is_none() => {
                    let files =
                        dbsage_core::migrations::discover_project(&project).unwrap_or_default();
                    let target = dbsage_core::env::Target::resolve(&project, Some("dev"))?;
                    let mut client = target.connect(&project, "dbsage dev status")?;
                    let entries = dbsage_core::migrate::status(&mut client, &project, &files)?;
                    Some((
                        entries
                            .iter()
                            .filter(|e| e.state == dbsage_core::migrate::State::Applied)
                            .count(),
                        entries
                            .iter()
                            .filter(|e| e.state == dbsage_core::migrate::State::Pending)
                            .count(),
                    ))
                }
                _ => None,
            };
            let differing = dbsage_core::pg_version::differing(&project, target.major);
            if out.json_mode() {
                out.json(&json!({
                    "running": pid.is_some(),
                    "pid": pid,
                    "url": shown_url(&dev),
                    "data_dir": dev.data_dir().display().to_string(),
                    "exists": dev.exists(),
                    "postgres_version": dev.install().version,
                    "local_pg_version": super::pg_version::json(&target, Some(&dev.install().version)),
                    "data_pg_version": dev.data_major(),
                    "recreate_with": mismatch.as_ref().map(|_| "dbsage dev reset"),
                    "environments_differing": super::pg_version::differing_json(&differing),
                    "applied": applied.map(|a| a.0),
                    "pending": applied.map(|a| a.1),
                }));
            } else {
                match pid {
                    Some(pid) => out.line(&format!("running (pid {pid}) at {}", shown_url(&dev))),
                    None if dev.exists() => out.line("stopped (start it with `dbsage dev start`)"),
                    None => out.line("not created yet (`dbsage dev start` creates it)"),
                }
                out.line(&format!("data: {}", dev.data_dir().display()));
                out.line(&super::pg_version::line(&target, dev.install()));
                if let Some((a, p)) = applied {
                    out.line(&format!("migrations: {a} applied, {p} pending"));
                }
                if let Some(e) = &mismatch {
                    out.warn(&e.to_string());
                }
                super::pg_version::warn_differing(out, &differing, &target);
            }
            return Ok(if mismatch.is_some() { 1 } else { 0 });
        }
        DevAction::Url => {
            if out.json_mode() {
                Out::json_verbatim(
                    &json!({ "url": dev.url(), "running": dev.running_pid().is_some() }),
                );
            } else {
                out_line!("{}", dev.url());
                if dev.running_pid().is_none() {
                    out.warn("the dev database is not running: `dbsage dev start`");
                }
            }
        }
        DevAction::Psql => {
            dev.ensure_running()?;
            let psql = dev.install().bin("psql");
            let psql = if psql.is_file() { psql } else { "psql".into() };
            use std::os::unix::process::CommandExt;
            // The password goes in the environment (readable by this user only), never on the
            // command line (readable by every local user).
            let mut cmd = dbsage_cluster::child_command(psql);
            for var in PSQL_TERMINAL_VARS {
                if let Some(value) = std::env::var_os(var) {
                    cmd.env(var, value);
                }
            }
            if let Some(password) = dev.password() {
                cmd.env("PGPASSWORD", password);
            }
            let port = dev.port().to_string();
            let err = cmd
                .args([
                    "-h",
                    "127.0.0.1",
                    "-p",
                    &port,
                    "-U",
                    "postgres",
                    "-d",
                    "postgres",
                ])
                .exec();
            return Err(dbsage_core::Error::io("starting psql", err));
        }
        DevAction::Reset => {
            let files = dbsage_core::migrations::discover_project(&project)?;
            dev.destroy()?;
            dev.ensure_running()?;
            out.status("Recreated", &shown_url(&dev));
            let target = dbsage_core::env::Target::resolve(&project, Some("dev"))?;
            let mut client = target.connect(&project, "dbsage dev reset")?;
            let mut options = dbsage_core::migrate::RunOptions::default();
            let outcome =
                dbsage_core::migrate::run(&mut client, &project, &files, &mut options, &mut |p| {
                    if let dbsage_core::migrate::Progress::Applied(a) = p {
                        out.status(
                            "Applied",
                            &format!("{}_{} in {} ms", a.version, a.name, a.duration_ms),
                        );
                    }
                })?;
            let seed = dbsage_core::local::apply_seed(&mut client, &project)?;
            if let Some(s) = &seed {
                out.status("Seeded", &super::display_path(std::path::Path::new(s)));
            }
            if out.json_mode() {
                out.json(
                    &json!({ "url": shown_url(&dev), "applied": outcome.applied, "seed": seed }),
                );
            }
        }
    }
    Ok(0)
}
