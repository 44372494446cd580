//! `dbsage pitr restore --to T --into DIR [--port P]`: pgBackRest restores the backup before T
//! into a new data directory and writes the recovery settings (`--type=time`, promote,
//! archiving off so the copy never writes into the stanza's archive); dbsage starts it with
//! `pg_ctl` as the server's OS user, waits for the promotion, then checks every database (exact
//! row counts, `amcheck` on btree indexes) and says how to use and stop it.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use dbsage_cluster::{PgInstall, RunAs};
use dbsage_core::config::Project;
use dbsage_core::env::Target;

use super::pgbackrest::{give_to, BackupInfo};
use super::target_time;
use crate::compare::{Comparison, USER_SCHEMAS};

/// The folder beside `--into DIR` that holds the copy's tablespaces, one folder per tablespace
/// name: `DIR.tablespaces/<name>` (PostgreSQL refuses a tablespace inside the data directory).
pub fn tablespaces_dir(into: &Path) -> PathBuf {
    // Through components: `restored/` must give `restored.tablespaces`, not `restored/.tablespaces`.
    let mut name = into.components().collect::<PathBuf>().into_os_string();
    name.push(".tablespaces");
    PathBuf::from(name)
}

pub struct PitrRestoreOptions {
    /// `--to`, as typed.
    pub to: String,
    pub into: PathBuf,
    pub port: Option<u16>,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct PitrRestoreReport {
    pub environment: String,
    pub stanza: String,
    /// The recovery target, in UTC.
    pub target_time: String,
    /// The backup pgBackRest restored and replayed WAL from.
    pub backup: Option<BackupInfo>,
    pub data_dir: PathBuf,
    pub port: u16,
    pub server_version: String,
    pub os_user: String,
    /// pgBackRest's restore of the files, then start-up until promoted (WAL replay).
    pub restore_ms: u64,
    pub recovery_ms: u64,
    /// The server's own words on where replay stopped ("recovery stopping before commit …").
    pub stopped: Option<String>,
    /// Where the copy's tablespaces are (all in `<into>.tablespaces/`).
    pub tablespaces: Vec<TablespaceLocation>,
    pub databases: Vec<DatabaseCheck>,
    pub ok: bool,
    /// How to connect, stop and remove the copy.
    pub usage: Vec<String>,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct DatabaseCheck {
    pub database: String,
    pub tables: Vec<TableCount>,
    pub rows: i64,
    pub indexes: usize,
    pub amcheck_note: Option<String>,
    pub problems: Vec<String>,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct TablespaceLocation {
    pub name: String,
    pub location: String,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct TableCount {
    pub table: String,
    pub rows: i64,
}

pub fn restore(
    project: &Project,
    target: &Target,
    options: &PitrRestoreOptions,
) -> dbsage_core::Result<PitrRestoreReport> {
    super::setup::refuse_managed(project, target)?;
    let moment = target_time::parse(&options.to)?;
    let into = &options.into;
    refuse_used_dir(into)?;
    refuse_used_dir(&tablespaces_dir(into))?;
    let tool = super::backup::configured(project, &target.name)?;
    let info = tool.info()?;
    let Some(first) = info.backups.first() else {
        return Err(crate::config_error(
            format!(
                "stanza {} has no backup yet: there is nothing to restore from",
                tool.stanza
            ),
            format!("take one with `dbsage pitr backup --env {}`", target.name),
        ));
    };
    let wanted = moment.unix_timestamp();
    if wanted < first.stop {
        return Err(crate::config_error(
            format!(
                "--to {} is before the first backup finished ({}): WAL is replayed forward from a backup, never backward",
                target_time::for_postgres(moment),
                target_time::rfc3339(first.stop)
            ),
            format!("the earliest moment stanza {} can restore to is {}", tool.stanza, target_time::rfc3339(first.stop)),
        ));
    }
    if moment > time::OffsetDateTime::now_utc() {
        return Err(crate::config_error(
            format!(
                "--to {} is in the future",
                target_time::for_postgres(moment)
            ),
            "name a moment that has passed (for the newest state, use now minus a few seconds)",
        ));
    }
    let backup = info
        .backups
        .iter()
        .rev()
        .find(|b| b.stop <= wanted)
        .cloned();
    let install = PgInstall::find_major(info.major)?;
    let port = match options.port {
        Some(p) => {
            if std::net::TcpListener::bind(("127.0.0.1", p)).is_err() {
                return Err(crate::config_error(
                    format!("--port {p} is in use on this machine"),
                    "pick another port, or leave --port out for a free one",
                ));
            }
            p
        }
        None => free_port()?,
    };

    create_private_dir(into, tool.run_as.as_ref())?;
    let into = into
        .canonicalize()
        .map_err(|e| dbsage_core::Error::io(format!("reading {}", into.display()), e))?;
    let tablespaces = tablespaces_dir(&into);
    create_private_dir(&tablespaces, tool.run_as.as_ref())?;
    let target_text = target_time::for_postgres(moment);
    let started = Instant::now();
    tool.run(
        "restore",
        &[
            format!("--pg1-path={}", into.display()),
            "--type=time".into(),
            format!("--target={target_text}"),
            "--target-action=promote".into(),
            "--archive-mode=off".into(),
            // Tablespaces would otherwise go back to their original directories, which belong
            // to the running server: the copy keeps its own beside --into.
            format!("--tablespace-map-all={}", tablespaces.display()),
        ],
    )?;
    let restore_ms = started.elapsed().as_millis() as u64;

    let started = Instant::now();
    let log = start(&install, tool.run_as.as_ref(), &into, port)?;
    let mut client = connect(project, target, &into, port, "postgres")?;
    wait_promoted(&mut client, &log)?;
    let recovery_ms = started.elapsed().as_millis() as u64;
    let server_version: String = client
        .query_one("select current_setting('server_version')", &[])
        .map_err(|e| dbsage_core::Error::db("reading the restored server's version", e))?
        .get(0);
    let stopped = std::fs::read_to_string(&log).ok().and_then(|text| {
        text.lines()
            .find(|l| l.contains("recovery stopping"))
            .map(|l| {
                l.split_once("LOG:")
                    .map_or(l, |(_, m)| m)
                    .trim()
                    .to_string()
            })
    });

    let restored_tablespaces: Vec<TablespaceLocation> = client
        .query(
            "select spcname::text, pg_tablespace_location(oid) from pg_tablespace
              where spcname not in ('pg_default', 'pg_global') order by 1",
            &[],
        )
        .map_err(|e| dbsage_core::Error::db("listing the restored tablespaces", e))?
        .iter()
        .map(|r| TablespaceLocation {
            name: r.get(0),
            location: r.get(1),
        })
        .collect();
    let names: Vec<String> = client
        .query(
            "select datname::text from pg_database where datallowconn and not datistemplate order by 1",
            &[],
        )
        .map_err(|e| dbsage_core::Error::db("listing the restored databases", e))?
        .iter()
        .map(|r| r.get(0))
        .collect();
    let mut databases = Vec::new();
    for name in names {
        let mut db = connect(project, target, &into, port, &name)?;
        databases.push(
            check_database(&mut db, &name)
                .map_err(|e| dbsage_core::Error::db(format!("checking database {name}"), e))?,
        );
    }
    let ok = databases.iter().all(|d| d.problems.is_empty());
    let os_user = tool
        .run_as
        .as_ref()
        .map(|r| r.name.clone())
        .unwrap_or_else(|| std::env::var("USER").unwrap_or_default());
    let usage = usage_lines(project, target, &install, tool.run_as.as_ref(), &into, port);
    Ok(PitrRestoreReport {
        environment: target.name.clone(),
        stanza: tool.stanza.clone(),
        target_time: target_text,
        backup,
        data_dir: into,
        port,
        server_version,
        os_user,
        restore_ms,
        recovery_ms,
        stopped,
        tablespaces: restored_tablespaces,
        databases,
        ok,
        usage,
    })
}

/// A restore writes a new data directory: an existing non-empty folder is never touched.
fn refuse_used_dir(into: &Path) -> dbsage_core::Result<()> {
    if !into.exists() {
        return Ok(());
    }
    let entries = std::fs::read_dir(into).map(|d| d.count()).map_err(|e| {
        crate::config_error(
            format!("--into {}: {e}", into.display()),
            "name a new folder (it is created) or an empty one",
        )
    })?;
    if entries > 0 {
        return Err(crate::config_error(
            format!(
                "--into {} is not empty ({entries} entries): a point-in-time restore writes a whole new data directory and never overwrites one",
                into.display()
            ),
            "name a new folder (it is created) or an empty one",
        ));
    }
    Ok(())
}

fn create_private_dir(dir: &Path, run_as: Option<&RunAs>) -> dbsage_core::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::create_dir_all(dir)
        .and_then(|()| std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)))
        .map_err(|e| dbsage_core::Error::io(format!("creating {}", dir.display()), e))?;
    give_to(run_as, dir)?;
    if let Some(r) = run_as {
        if !dbsage_cluster::reachable_by(r, dir) {
            return Err(crate::config_error(
                format!(
                    "the server's OS user {} cannot reach {} (a parent folder is private)",
                    r.name,
                    dir.display()
                ),
                "restore into a folder that user can reach, e.g. under /var/lib/postgresql",
            ));
        }
    }
    Ok(())
}

fn free_port() -> dbsage_core::Result<u16> {
    std::net::TcpListener::bind(("127.0.0.1", 0))
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| dbsage_core::Error::io("finding a free port", e))
}

/// `pg_ctl start` as the server's user: the copy outlives dbsage (it is the user's now).
/// Local connections only; its socket sits in the data directory.
fn start(
    install: &PgInstall,
    run_as: Option<&RunAs>,
    into: &Path,
    port: u16,
) -> dbsage_core::Result<PathBuf> {
    let log_dir = into.join("log");
    std::fs::create_dir_all(&log_dir)
        .map_err(|e| dbsage_core::Error::io(format!("creating {}", log_dir.display()), e))?;
    give_to(run_as, &log_dir)?;
    let log = log_dir.join("dbsage-pitr-restore.log");
    let mut cmd = dbsage_cluster::child_command(install.bin("pg_ctl"));
    cmd.arg("start")
        .arg("-D")
        .arg(into)
        .args(["-w", "-t", "600", "-l"])
        .arg(&log)
        .arg("-o")
        .arg(format!(
            "-p {port} -k '{}' -c listen_addresses=127.0.0.1",
            into.display().to_string().replace('\'', "'\\''")
        ));
    RunAs::apply(run_as, &mut cmd);
    let output = cmd
        .output()
        .map_err(|e| dbsage_core::Error::io("running pg_ctl start", e))?;
    if !output.status.success() {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        let tail: Vec<&str> = text
            .lines()
            .rev()
            .take(12)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        let hint = if text.contains("recovery ended before configured recovery target was reached")
        {
            "the archive holds no WAL up to --to yet (a segment is archived when full, on archive_timeout, or on `select pg_switch_wal()`): pick an earlier moment, or switch WAL on the server and retry"
        } else {
            "the server log above says why; the data directory is kept for inspection (remove it before retrying)"
        };
        return Err(crate::failed(
            format!(
                "the restored server in {} did not start:\n{}",
                into.display(),
                tail.join("\n")
            ),
            hint,
        ));
    }
    Ok(log)
}

/// Over TCP with the environment's own role and password (restored with the data), else the
/// unix socket.
fn connect(
    project: &Project,
    target: &Target,
    into: &Path,
    port: u16,
    database: &str,
) -> dbsage_core::Result<postgres::Client> {
    let vars = target.libpq_env(project)?;
    let var = |k: &str| vars.iter().find(|(n, _)| *n == k).map(|(_, v)| v.clone());
    let user = var("PGUSER").unwrap_or_else(|| "postgres".into());
    let mut tcp = postgres::Config::new();
    tcp.host("127.0.0.1")
        .port(port)
        .user(&user)
        .dbname(database)
        .application_name("dbsage pitr restore");
    if let Some(password) = var("PGPASSWORD") {
        tcp.password(password);
    }
    let mut socket = postgres::Config::new();
    socket
        .host_path(into)
        .port(port)
        .user(&user)
        .dbname(database);
    tcp.connect(postgres::NoTls)
        .or_else(|_| socket.connect(postgres::NoTls))
        .map_err(|e| {
            dbsage_core::Error::db(
                format!("connecting to the restored server on port {port} as {user}"),
                e,
            )
        })
}

fn wait_promoted(client: &mut postgres::Client, log: &Path) -> dbsage_core::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(600);
    loop {
        let in_recovery: bool = client
            .query_one("select pg_is_in_recovery()", &[])
            .map_err(|e| {
                let text = std::fs::read_to_string(log).unwrap_or_default();
                crate::failed(
                    format!(
                        "the restored server stopped during recovery: {}\n{}",
                        dbsage_pgerror::headline(&e),
                        text.lines().rev().take(8).collect::<Vec<_>>().join("\n")
                    ),
                    "the server log in the data directory's log/ says why",
                )
            })?
            .get(0);
        if !in_recovery {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(crate::failed(
                "the restored server was still replaying WAL after 10 minutes",
                format!("it keeps going in the background; follow {}", log.display()),
            ));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Exact row counts of every table, `amcheck` on every btree index.
fn check_database(
    client: &mut postgres::Client,
    name: &str,
) -> Result<DatabaseCheck, postgres::Error> {
    let tables: Vec<String> = client
        .query(
            &format!(
                "select format('%I.%I', n.nspname, c.relname) from pg_class c
                   join pg_namespace n on n.oid = c.relnamespace
                  where c.relkind in ('r', 'p') and c.relpersistence = 'p' and {USER_SCHEMAS}
                  order by 1"
            ),
            &[],
        )?
        .iter()
        .map(|r| r.get(0))
        .collect();
    let mut counts = Vec::new();
    for table in tables {
        let rows: i64 = client
            .query_one(&format!("select count(*) from {table}"), &[])?
            .get(0);
        counts.push(TableCount { table, rows });
    }
    let mut structure = Comparison::default();
    crate::compare::check_indexes(client, &mut structure)?;
    Ok(DatabaseCheck {
        database: name.to_string(),
        rows: counts.iter().map(|t| t.rows).sum(),
        tables: counts,
        indexes: structure.indexes,
        amcheck_note: structure.amcheck_note,
        problems: structure.problems.into_iter().map(|p| p.message).collect(),
    })
}

fn usage_lines(
    project: &Project,
    target: &Target,
    install: &PgInstall,
    run_as: Option<&RunAs>,
    into: &Path,
    port: u16,
) -> Vec<String> {
    let user = target
        .libpq_env(project)
        .ok()
        .and_then(|v| v.into_iter().find(|(k, _)| *k == "PGUSER").map(|(_, v)| v))
        .unwrap_or_else(|| "postgres".into());
    let database = target
        .libpq_env(project)
        .ok()
        .and_then(|v| {
            v.into_iter()
                .find(|(k, _)| *k == "PGDATABASE")
                .map(|(_, v)| v)
        })
        .unwrap_or_else(|| "postgres".into());
    let as_owner = run_as
        .map(|r| format!("runuser -u {} -- ", r.name))
        .unwrap_or_default();
    let pg_ctl = install.bin("pg_ctl");
    vec![
        format!("connect: psql \"postgresql://{user}@127.0.0.1:{port}/{database}\"  (the password is `{}`'s: roles were restored with the data)", target.name),
        format!("copy rows back: pg_dump -h 127.0.0.1 -p {port} -U {user} -d {database} -t TABLE --data-only | psql <{}'s URL>", target.name),
        format!("stop it: {as_owner}{} stop -D {}", pg_ctl.display(), into.display()),
        format!(
            "then remove it: rm -rf {} {}",
            into.display(),
            tablespaces_dir(into).display()
        ),
    ]
}
