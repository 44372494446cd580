//! `dbsage pitr setup --env E --data-dir DIR`: dbsage's own pgBackRest config for the stanza,
//! `archive_command` set with ALTER SYSTEM and a reload (`archive_mode`/`wal_level` need a
//! restart: set, and said), then `stanza-create` and `check`.

use std::path::{Path, PathBuf};

use dbsage_core::config::Project;
use dbsage_core::env::Target;

use super::config::PitrConfig;
use super::pgbackrest::{give_to, owner_of, PgBackRest};

#[derive(Debug, Clone, serde::Serialize)]
pub struct SetupReport {
    pub environment: String,
    pub stanza: String,
    pub config_file: PathBuf,
    pub repo: PathBuf,
    pub data_dir: PathBuf,
    pub server_version: String,
    /// The OS user pgBackRest runs as.
    pub os_user: String,
    pub archive_command: String,
    /// Settings changed with ALTER SYSTEM that take effect on reload (done).
    pub reloaded: Vec<String>,
    /// Settings changed with ALTER SYSTEM that wait for a restart (not done by dbsage).
    pub restart_needed: Vec<String>,
    pub stanza_created: bool,
    pub checked: bool,
}

struct Server {
    data_directory: String,
    port: i32,
    socket_dir: String,
    archive_mode: String,
    wal_level: String,
    version: String,
    user: String,
    superuser: bool,
}

pub fn setup(
    project: &Project,
    target: &Target,
    data_dir: &Path,
) -> dbsage_core::Result<SetupReport> {
    refuse_managed(project, target)?;
    let config = PitrConfig::of(project)?;
    let stanza = config.stanza(&target.name);
    let data_dir = data_dir.canonicalize().map_err(|e| {
        crate::config_error(
            format!("--data-dir {}: {e}", data_dir.display()),
            "name the server's data directory (`SHOW data_directory` as a superuser)",
        )
    })?;
    let mut client = target.connect(project, "dbsage pitr setup")?;
    let server = read_server(&mut client)?;
    if !server.superuser {
        return Err(crate::config_error(
            format!("`{}` connects as {}, which is not a superuser: setting archive_command (ALTER SYSTEM) and pgBackRest's checks need one", target.name, server.user),
            "run `pitr setup` with a superuser's URL for this environment",
        ));
    }
    if Path::new(&server.data_directory) != data_dir {
        return Err(crate::config_error(
            format!(
                "--data-dir {} is not this server's data directory: `{}` runs from {}",
                data_dir.display(),
                target.name,
                server.data_directory
            ),
            "pgBackRest must run on the server's own machine, with its data directory",
        ));
    }
    let run_as = owner_of(&data_dir)?;
    let os_user = run_as
        .as_ref()
        .map(|r| r.name.clone())
        .unwrap_or_else(|| std::env::var("USER").unwrap_or_else(|_| "this user".into()));

    let root = config.root(project);
    let repo = config.repo(project);
    for dir in [
        root.clone(),
        repo.clone(),
        root.join("log"),
        root.join("lock"),
        root.join("spool"),
    ] {
        std::fs::create_dir_all(&dir)
            .map_err(|e| dbsage_core::Error::io(format!("creating {}", dir.display()), e))?;
        if dir != root {
            give_to(run_as.as_ref(), &dir)?;
        }
    }
    if let Some(r) = &run_as {
        // archive_command runs as the server's user: it must reach the config and repository.
        for path in [&root, &repo] {
            if !dbsage_cluster::reachable_by(r, path) {
                return Err(crate::config_error(
                    format!("the server's OS user {} cannot reach {} (a parent folder is private)", r.name, path.display()),
                    "set [pitr] dir (and repo_path) in dbsage.toml to a folder that user can reach, e.g. /var/lib/dbsage-pitr",
                ));
            }
        }
    }
    let config_file = config.config_file(project, &stanza);
    let text = config_text(&config, project, &stanza, &data_dir, &server);
    dbsage_core::project_file::write(&config_file, &text)?;

    let archive_command = format!(
        "pgbackrest --config={} --stanza={stanza} archive-push %p",
        shell_quote(&config_file.display().to_string())
    );
    let mut reloaded = Vec::new();
    let mut restart_needed = Vec::new();
    let current: String = client
        .query_one("select current_setting('archive_command')", &[])
        .map_err(|e| dbsage_core::Error::db("reading archive_command", e))?
        .get(0);
    if current != archive_command {
        alter_system(&mut client, "archive_command", &archive_command)?;
        reloaded.push("archive_command".to_string());
    }
    if server.archive_mode == "off" {
        alter_system(&mut client, "archive_mode", "on")?;
        restart_needed.push("archive_mode = on".to_string());
    }
    if server.wal_level == "minimal" {
        alter_system(&mut client, "wal_level", "replica")?;
        restart_needed.push("wal_level = replica".to_string());
    }
    client
        .batch_execute("select pg_reload_conf()")
        .map_err(|e| dbsage_core::Error::db("reloading the configuration", e))?;

    let tool = PgBackRest {
        config: config_file.clone(),
        stanza: stanza.clone(),
        run_as: run_as.clone(),
    };
    tool.run("stanza-create", &[])?;
    // `check` archives a WAL segment through archive_command: only meaningful once archiving runs.
    let checked = if restart_needed.is_empty() {
        tool.run("check", &[])?;
        true
    } else {
        false
    };
    Ok(SetupReport {
        environment: target.name.clone(),
        stanza,
        config_file,
        repo,
        data_dir,
        server_version: server.version,
        os_user,
        archive_command,
        reloaded,
        restart_needed,
        stanza_created: true,
        checked,
    })
}

/// Managed platforms: exit 2 with what they offer instead.
pub(crate) fn refuse_managed(project: &Project, target: &Target) -> dbsage_core::Result<()> {
    let host = if target.is_dev() {
        None
    } else {
        target
            .libpq_env(project)?
            .into_iter()
            .find(|(k, _)| *k == "PGHOST")
            .map(|(_, v)| v)
    };
    match super::platform::managed(project, host.as_deref()) {
        Some(offer) => Err(super::platform::refuse(&target.name, offer)),
        None => Ok(()),
    }
}

fn read_server(client: &mut postgres::Client) -> dbsage_core::Result<Server> {
    let row = client
        .query_one(
            "select current_user::text, (select rolsuper from pg_roles where rolname = current_user),
                    current_setting('server_version'), current_setting('port')::int,
                    current_setting('unix_socket_directories'), current_setting('archive_mode'),
                    current_setting('wal_level')",
            &[],
        )
        .map_err(|e| dbsage_core::Error::db("reading the server's settings", e))?;
    let superuser: bool = row.get(1);
    let data_directory = if superuser {
        client
            .query_one("select current_setting('data_directory')", &[])
            .map_err(|e| dbsage_core::Error::db("reading data_directory", e))?
            .get(0)
    } else {
        String::new()
    };
    let sockets: String = row.get(4);
    Ok(Server {
        user: row.get(0),
        superuser,
        version: row.get(2),
        port: row.get(3),
        socket_dir: sockets.split(',').next().unwrap_or("").trim().to_string(),
        archive_mode: row.get(5),
        wal_level: row.get(6),
        data_directory,
    })
}

fn config_text(
    config: &PitrConfig,
    project: &Project,
    stanza: &str,
    data_dir: &Path,
    server: &Server,
) -> String {
    let root = config.root(project);
    let mut text = format!(
        "# Written by `dbsage pitr setup`; dbsage rewrites it on the next setup.\n\
         [global]\n\
         repo1-path={}\n\
         repo1-retention-full={}\n\
         log-path={}\n\
         lock-path={}\n\
         spool-path={}\n\
         log-level-console=warn\n\
         log-level-file=info\n\
         start-fast=y\n\
         \n\
         [{stanza}]\n\
         pg1-path={}\n\
         pg1-port={}\n\
         pg1-user={}\n",
        config.repo(project).display(),
        config.retention_full,
        root.join("log").display(),
        root.join("lock").display(),
        root.join("spool").display(),
        data_dir.display(),
        server.port,
        server.user,
    );
    if !server.socket_dir.is_empty() {
        text.push_str(&format!("pg1-socket-path={}\n", server.socket_dir));
    }
    text
}

/// ALTER SYSTEM takes no parameters: the value is quoted by the server (`format('%L')`).
fn alter_system(client: &mut postgres::Client, name: &str, value: &str) -> dbsage_core::Result<()> {
    let sql: String = client
        .query_one(
            "select format('alter system set %I = %L', $1::text, $2::text)",
            &[&name, &value],
        )
        .map_err(|e| dbsage_core::Error::db("quoting a setting", e))?
        .get(0);
    client
        .batch_execute(&sql)
        .map_err(|e| dbsage_core::Error::db(format!("ALTER SYSTEM SET {name}"), e))
}

/// Quotes a path for archive_command, which the server runs through `sh -c`.
fn shell_quote(s: &str) -> String {
    if s.chars()
        .all(|c| c.is_ascii_alphanumeric() || "/._-+=".contains(c))
    {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}
