//! How pg_dump, pg_dumpall and pg_restore reach a server: libpq variables in a cleared child
//! environment ([`dbsage_cluster::child_command`]) and the password in a 0600 passfile named
//! by `PGPASSFILE`, never on a command line nor in `PGPASSWORD` (both readable in `/proc`).

use std::ffi::OsStr;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::process::Command;

use dbsage_cluster::Cluster;
use dbsage_core::config::Project;
use dbsage_core::env::Target;

/// A server (and database) for a libpq child process.
pub struct Endpoint {
    vars: Vec<(&'static str, String)>,
    /// A private directory holding the passfile, removed on drop.
    passfile: Option<tempfile::TempDir>,
}

impl Endpoint {
    /// The environment's connection (starting the dev cluster when needed).
    pub fn for_target(project: &Project, target: &Target) -> dbsage_core::Result<Endpoint> {
        let mut vars = target.libpq_env(project)?;
        let password = vars
            .iter()
            .position(|(k, _)| *k == "PGPASSWORD")
            .map(|i| vars.remove(i).1);
        let passfile = match password {
            Some(password) => Some(write_passfile(&password).map_err(|e| {
                dbsage_core::Error::io("writing a private passfile for pg_dump/pg_restore", e)
            })?),
            None => None,
        };
        Ok(Endpoint { vars, passfile })
    }

    /// A throwaway cluster's database, over its 0700 unix socket (no password needed).
    pub fn for_cluster(cluster: &Cluster, database: &str) -> Endpoint {
        Endpoint {
            vars: vec![
                ("PGHOST", cluster.socket_dir().display().to_string()),
                ("PGPORT", cluster.port().to_string()),
                ("PGUSER", "postgres".into()),
                ("PGDATABASE", database.into()),
                ("PGSSLMODE", "disable".into()),
            ],
            passfile: None,
        }
    }

    /// A libpq program with this connection in its (otherwise cleared) environment.
    pub fn command(&self, program: impl AsRef<OsStr>) -> Command {
        let mut cmd = dbsage_cluster::child_command(program);
        for (k, v) in &self.vars {
            cmd.env(k, v);
        }
        if let Some(dir) = &self.passfile {
            cmd.env("PGPASSFILE", dir.path().join("pgpass"));
        }
        cmd
    }

    /// The database the variables name.
    pub fn database(&self) -> Option<&str> {
        self.vars
            .iter()
            .find(|(k, _)| *k == "PGDATABASE")
            .map(|(_, v)| v.as_str())
    }

    /// The same server, another database.
    pub fn with_database(&self, database: &str) -> std::io::Result<Endpoint> {
        let mut vars = self.vars.clone();
        vars.retain(|(k, _)| *k != "PGDATABASE");
        vars.push(("PGDATABASE", database.to_string()));
        let passfile = match &self.passfile {
            Some(dir) => Some(write_passfile(&std::fs::read_to_string(
                dir.path().join("password"),
            )?)?),
            None => None,
        };
        Ok(Endpoint { vars, passfile })
    }
}

/// `*:*:*:*:password` in a fresh 0700 directory, file 0600 (libpq ignores a passfile that
/// others can read). The raw password is kept beside it for [`Endpoint::with_database`].
fn write_passfile(password: &str) -> std::io::Result<tempfile::TempDir> {
    let dir = tempfile::Builder::new().prefix("dbsage-pass-").tempdir()?;
    let escaped = password.replace('\\', "\\\\").replace(':', "\\:");
    for (name, text) in [
        ("pgpass", format!("*:*:*:*:{escaped}\n")),
        ("password", password.to_string()),
    ] {
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(dir.path().join(name))?;
        file.write_all(text.as_bytes())?;
    }
    Ok(dir)
}

/// True when `path`'s permissions let only its owner read it.
pub fn is_private(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.permissions().mode() & 0o077 == 0)
}
