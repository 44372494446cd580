//! Child processes with a cleared environment: a server, initdb or psql started by dbsage sees
//! none of the secrets dbsage's own environment may hold (`PGPASSWORD`, `*_DATABASE_URL`, cloud
//! tokens), since anyone running as the server's OS user can read `/proc/PID/environ`.

use std::ffi::OsStr;
use std::process::Command;

/// A command for `program` whose environment holds only `PATH`, the locale (`LANG`, `LC_*`)
/// and `TZ` from dbsage's own; callers add the PG* settings they mean to pass.
pub fn child_command(program: impl AsRef<OsStr>) -> Command {
    let mut cmd = Command::new(program);
    cmd.env_clear();
    for (key, value) in std::env::vars_os() {
        if is_passed_on(&key) {
            cmd.env(key, value);
        }
    }
    cmd
}

fn is_passed_on(key: &OsStr) -> bool {
    let Some(key) = key.to_str() else {
        return false;
    };
    matches!(key, "PATH" | "LANG" | "TZ") || key.starts_with("LC_")
}
