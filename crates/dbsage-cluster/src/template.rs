//! The initdb template cache: `initdb` runs once per PostgreSQL version, after that a cluster
//! starts from a copy of the template (a few milliseconds instead of a second or two).

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use sha2::{Digest, Sha256};

use crate::child::child_command;
use crate::install::{PgInstall, RunAs};
use crate::ClusterError;

/// Bumped whenever the initdb options or the files written below change, so old templates are
/// not reused.
const TEMPLATE_FORMAT: &str = "v2";

/// The socket lives in a 0700 directory of the server's OS user (or there is none, for the dev
/// cluster), so `trust` there admits only that user and root; TCP, open to every local user,
/// needs the cluster's generated password.
const PG_HBA: &str = "\
# Written by dbsage. Unix socket: only the server's OS user (and root) can reach its 0700
# directory. TCP: the cluster's generated password (see the cluster's `password` file).
local   all             all                                     trust
host    all             all             127.0.0.1/32            scram-sha-256
host    all             all             ::1/128                 scram-sha-256
local   replication     all                                     trust
host    replication     all             127.0.0.1/32            scram-sha-256
host    replication     all             ::1/128                 scram-sha-256
";

/// Appended to postgresql.conf.
const EXTRA_SETTINGS: &str =
    "\n# dbsage\npassword_encryption = 'scram-sha-256'\nunix_socket_permissions = 0700\n";

/// Where dbsage keeps caches: `DBSAGE_CACHE_DIR`, `$XDG_CACHE_HOME/dbsage`, `~/.cache/dbsage`.
pub fn cache_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("DBSAGE_CACHE_DIR") {
        return PathBuf::from(d);
    }
    if let Some(d) = std::env::var_os("XDG_CACHE_HOME") {
        return PathBuf::from(d).join("dbsage");
    }
    if let Some(home) = std::env::var_os("HOME") {
        return PathBuf::from(home).join(".cache").join("dbsage");
    }
    std::env::temp_dir().join("dbsage-cache")
}

/// Returns the template data directory for this installation, creating it when missing.
pub fn ensure_template(
    install: &PgInstall,
    run_as: Option<&RunAs>,
) -> Result<PathBuf, ClusterError> {
    let mut hasher = Sha256::new();
    hasher.update(TEMPLATE_FORMAT);
    hasher.update(install.bin_dir.to_string_lossy().as_bytes());
    hasher.update(&install.version);
    let key = hex::encode(&hasher.finalize()[..6]);
    let dir = cache_dir()
        .join("templates")
        .join(format!("pg{}-{}", install.version, key));
    if dir.join("PG_VERSION").is_file() {
        return Ok(dir);
    }
    fs::create_dir_all(dir.parent().unwrap())
        .map_err(|e| ClusterError::io("creating the template cache", e))?;

    // initdb into a fresh directory the server user owns, then move it into the cache.
    let scratch = tempdir_for(run_as, INITDB_SCRATCH_PREFIX)?;
    crate::stale::write_owner(&scratch)
        .map_err(|e| ClusterError::io("writing the initdb owner file", e))?;
    let data = scratch.join("data");
    let mut cmd = child_command(install.bin("initdb"));
    cmd.arg("-D")
        .arg(&data)
        .args([
            "--auth=trust",
            "--username=postgres",
            "--encoding=UTF8",
            "--locale=C",
            "--no-sync",
            "--no-instructions",
            "--wal-segsize=1",
        ])
        .stdin(Stdio::null());
    RunAs::apply(run_as, &mut cmd);
    let out = cmd
        .output()
        .map_err(|e| ClusterError::io("running initdb", e))?;
    if !out.status.success() {
        let _ = fs::remove_dir_all(&scratch);
        return Err(ClusterError::Initdb {
            output: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        });
    }
    if let Err(e) = write_auth_config(&data) {
        let _ = fs::remove_dir_all(&scratch);
        return Err(ClusterError::io("writing the template's pg_hba.conf", e));
    }
    // Unique per call: threads of one process may fill the cache at the same time.
    static SEQ: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let seq = SEQ.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let staged = dir.with_file_name(format!(
        "{}{STAGED_TEMPLATE_MARK}{}-{seq}",
        dir.file_name().unwrap().to_string_lossy(),
        std::process::id()
    ));
    let _ = fs::remove_dir_all(&staged);
    copy_tree(&data, &staged, None)
        .map_err(|e| ClusterError::io("filling the template cache", e))?;
    let _ = fs::remove_dir_all(&scratch);
    // Another process may have won the race; its template is as good as ours.
    if fs::rename(&staged, &dir).is_err() {
        let _ = fs::remove_dir_all(&staged);
        if !dir.join("PG_VERSION").is_file() {
            return Err(ClusterError::io(
                "installing the template",
                io::Error::other(format!("could not create {}", dir.display())),
            ));
        }
    }
    Ok(dir)
}

/// Writes dbsage's pg_hba.conf and appends its authentication settings to postgresql.conf
/// (once).
pub(crate) fn write_auth_config(data: &Path) -> io::Result<()> {
    fs::write(data.join("pg_hba.conf"), PG_HBA)?;
    let conf_path = data.join("postgresql.conf");
    if fs::read_to_string(&conf_path)?.contains(EXTRA_SETTINGS) {
        return Ok(());
    }
    let mut conf = fs::OpenOptions::new().append(true).open(conf_path)?;
    io::Write::write_all(&mut conf, EXTRA_SETTINGS.as_bytes())
}

/// initdb's scratch directories in the system temp dir: `dbsage-initdb-PID-…`.
pub(crate) const INITDB_SCRATCH_PREFIX: &str = "dbsage-initdb-";
/// A template being copied into the cache: `pg15.18-KEY.staged-PID-SEQ`.
pub(crate) const STAGED_TEMPLATE_MARK: &str = ".staged-";

/// A new, empty, uniquely named directory under the system temp dir, owned by the server user.
pub(crate) fn tempdir_for(run_as: Option<&RunAs>, prefix: &str) -> Result<PathBuf, ClusterError> {
    use std::sync::atomic::{AtomicU64, Ordering};
    static SEQ: AtomicU64 = AtomicU64::new(0);
    let base = std::env::temp_dir();
    loop {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let name = format!(
            "{prefix}{}-{}-{nanos:x}",
            std::process::id(),
            SEQ.fetch_add(1, Ordering::Relaxed)
        );
        let p = base.join(name);
        match fs::create_dir(&p) {
            Ok(()) => {
                chown_to(run_as, &p).map_err(|e| ClusterError::io("preparing a directory", e))?;
                return Ok(p);
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(ClusterError::io("creating a temporary directory", e)),
        }
    }
}

pub(crate) fn chown_to(run_as: Option<&RunAs>, path: &Path) -> io::Result<()> {
    if let Some(r) = run_as {
        std::os::unix::fs::chown(path, Some(r.uid), Some(r.gid))?;
    }
    Ok(())
}

/// Copies a directory tree, giving every entry to `owner` when set. Data directories hold only
/// regular files and directories.
pub(crate) fn copy_tree(from: &Path, to: &Path, owner: Option<&RunAs>) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    fs::create_dir(to)?;
    fs::set_permissions(to, fs::Permissions::from_mode(0o700))?;
    chown_to(owner, to)?;
    for entry in fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        let kind = entry.file_type()?;
        if kind.is_dir() {
            copy_tree(&entry.path(), &target, owner)?;
        } else if kind.is_file() {
            fs::copy(entry.path(), &target)?;
            chown_to(owner, &target)?;
        }
    }
    Ok(())
}
