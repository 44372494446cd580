//! Running `pgbackrest` for a stanza: as the data directory's owner (the server's OS user; the
//! machine may run dbsage as root), from a cleared environment, with dbsage's own config file.
//! No password is involved: pgBackRest reaches the server over its unix socket.

use std::path::{Path, PathBuf};
use std::process::Command;

use dbsage_cluster::RunAs;

/// pgBackRest for one stanza.
pub struct PgBackRest {
    pub config: PathBuf,
    pub stanza: String,
    /// The OS user to run as (`None`: this one).
    pub run_as: Option<RunAs>,
}

impl PgBackRest {
    pub fn command(&self, action: &str) -> Command {
        let mut cmd = dbsage_cluster::child_command("pgbackrest");
        cmd.arg(format!("--config={}", self.config.display()))
            .arg(format!("--stanza={}", self.stanza));
        RunAs::apply(self.run_as.as_ref(), &mut cmd);
        cmd.arg(action);
        cmd
    }

    /// Runs an action with extra options; stdout on success, pgBackRest's own error lines
    /// otherwise.
    pub fn run(&self, action: &str, options: &[String]) -> dbsage_core::Result<String> {
        let mut cmd = self.command(action);
        // Options go before the action word too; pgBackRest accepts either order.
        cmd.args(options);
        let output = cmd.output().map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                crate::config_error(
                    "pgbackrest is not installed",
                    "install it (Debian/Ubuntu: `apt-get install pgbackrest`); dbsage drives it for point-in-time recovery",
                )
            } else {
                dbsage_core::Error::io(format!("running pgbackrest {action}"), e)
            }
        })?;
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        if output.status.success() {
            return Ok(stdout);
        }
        let stderr = String::from_utf8_lossy(&output.stderr);
        let lines: Vec<&str> = stderr
            .lines()
            .chain(stdout.lines())
            .filter(|l| l.contains("ERROR") || l.contains("WARN"))
            .collect();
        let said = if lines.is_empty() {
            format!("{stderr}{stdout}").trim().to_string()
        } else {
            lines.join("\n")
        };
        Err(crate::failed(
            format!("pgbackrest {action} failed ({}):\n{said}", output.status),
            format!(
                "pgBackRest's log: {}",
                self.config
                    .parent()
                    .unwrap_or(Path::new("."))
                    .join("log")
                    .display()
            ),
        ))
    }

    /// `pgbackrest info --output=json` for this stanza.
    pub fn info(&self) -> dbsage_core::Result<StanzaInfo> {
        let text = self.run("info", &["--output=json".into()])?;
        let value: serde_json::Value = serde_json::from_str(&text).map_err(|e| {
            crate::failed(
                format!("pgbackrest info printed something that is not JSON: {e}"),
                "check the pgBackRest version (dbsage needs 2.39 or newer)",
            )
        })?;
        let stanza = value
            .as_array()
            .and_then(|a| a.iter().find(|s| s["name"] == self.stanza.as_str()))
            .cloned()
            .unwrap_or_default();
        let backups = stanza["backup"]
            .as_array()
            .map(|a| a.iter().map(BackupInfo::from_json).collect())
            .unwrap_or_default();
        let major = stanza["db"]
            .as_array()
            .and_then(|a| a.last())
            .and_then(|db| db["version"].as_str())
            .and_then(|v| v.split('.').next())
            .and_then(|v| v.parse().ok());
        Ok(StanzaInfo { backups, major })
    }
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct StanzaInfo {
    /// Oldest first, as pgBackRest lists them.
    pub backups: Vec<BackupInfo>,
    /// The server's major version recorded by `stanza-create`.
    pub major: Option<u32>,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct BackupInfo {
    pub label: String,
    /// `full`, `diff` or `incr`.
    pub kind: String,
    /// Unix seconds.
    pub start: i64,
    pub stop: i64,
    pub size: u64,
    pub repo_size: u64,
}

impl BackupInfo {
    fn from_json(v: &serde_json::Value) -> BackupInfo {
        BackupInfo {
            label: v["label"].as_str().unwrap_or_default().to_string(),
            kind: v["type"].as_str().unwrap_or_default().to_string(),
            start: v["timestamp"]["start"].as_i64().unwrap_or(0),
            stop: v["timestamp"]["stop"].as_i64().unwrap_or(0),
            size: v["info"]["size"].as_u64().unwrap_or(0),
            repo_size: v["info"]["repository"]["delta"].as_u64().unwrap_or(0),
        }
    }
}

/// The OS user that owns `data_dir`, when it is not us (as root: the server's user).
pub fn owner_of(data_dir: &Path) -> dbsage_core::Result<Option<RunAs>> {
    use std::os::unix::fs::MetadataExt;
    let meta = std::fs::metadata(data_dir)
        .map_err(|e| dbsage_core::Error::io(format!("reading {}", data_dir.display()), e))?;
    // SAFETY: geteuid cannot fail.
    let me = unsafe { libc::geteuid() };
    if meta.uid() == me {
        return Ok(None);
    }
    if me != 0 {
        return Err(crate::config_error(
            format!(
                "{} belongs to another OS user (uid {}): pgBackRest must run as the server's user",
                data_dir.display(),
                meta.uid()
            ),
            "run dbsage as that user (or as root, and dbsage switches to it)",
        ));
    }
    Ok(Some(RunAs {
        name: user_name(meta.uid()).unwrap_or_else(|| meta.uid().to_string()),
        uid: meta.uid(),
        gid: meta.gid(),
    }))
}

fn user_name(uid: u32) -> Option<String> {
    let mut pwd: libc::passwd = unsafe { std::mem::zeroed() };
    let mut buf = vec![0 as libc::c_char; 16 * 1024];
    let mut result: *mut libc::passwd = std::ptr::null_mut();
    // SAFETY: getpwuid_r writes into our buffers only.
    let rc = unsafe { libc::getpwuid_r(uid, &mut pwd, buf.as_mut_ptr(), buf.len(), &mut result) };
    if rc != 0 || result.is_null() {
        return None;
    }
    // SAFETY: pw_name points into buf, NUL-terminated.
    let name = unsafe { std::ffi::CStr::from_ptr(pwd.pw_name) };
    Some(name.to_string_lossy().into_owned())
}

/// Gives a directory dbsage created to the server's user.
pub fn give_to(run_as: Option<&RunAs>, path: &Path) -> dbsage_core::Result<()> {
    if let Some(r) = run_as {
        std::os::unix::fs::chown(path, Some(r.uid), Some(r.gid)).map_err(|e| {
            dbsage_core::Error::io(format!("giving {} to {}", path.display(), r.name), e)
        })?;
    }
    Ok(())
}
