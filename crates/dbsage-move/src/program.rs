//! pg_dump and pg_restore as child processes: their own error lines when they fail.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use dbsage_backup::endpoint::Endpoint;
use dbsage_backup::tools::ClientTools;

/// `pg_dump -Fd -j N` of the endpoint's database into `dir` (which must not exist), in
/// `snapshot` when given; `schema_only` for the replication method.
pub fn pg_dump(
    tools: &ClientTools,
    endpoint: &Endpoint,
    dir: &Path,
    jobs: u32,
    snapshot: Option<&str>,
    schema_only: bool,
) -> dbsage_core::Result<Duration> {
    let mut cmd = endpoint.command(tools.bin("pg_dump"));
    cmd.arg("--format=directory")
        .arg("--file")
        .arg(dir)
        .arg(format!("--jobs={}", jobs.max(1)))
        .arg("--no-password");
    if let Some(id) = snapshot {
        cmd.arg(format!("--snapshot={id}"));
    }
    if schema_only {
        cmd.arg("--schema-only");
    }
    run(cmd, "pg_dump")
}

/// `pg_restore -j N` into the endpoint's database; every error pg_restore reports fails it.
pub fn pg_restore(
    tools: &ClientTools,
    endpoint: &Endpoint,
    dir: &Path,
    jobs: u32,
) -> dbsage_core::Result<Duration> {
    let run = dbsage_backup::pg_restore::run(tools, endpoint, dir, jobs)?;
    if run.errors.is_empty() {
        return Ok(run.elapsed);
    }
    let lines: Vec<String> = run
        .errors
        .iter()
        .take(10)
        .map(|e| match &e.command {
            Some(c) => format!("{} (while running: {})", e.message, c.trim()),
            None => e.message.clone(),
        })
        .collect();
    Err(crate::failed(
        format!(
            "pg_restore reported {} error(s) on the target:\n  {}",
            run.errors.len(),
            lines.join("\n  ")
        ),
        "fix the cause on the target (a missing role or extension, privileges), drop and recreate the target database, and run the move again",
    ))
}

fn run(mut cmd: Command, name: &str) -> dbsage_core::Result<Duration> {
    let started = Instant::now();
    let out = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .map_err(|e| dbsage_core::Error::io(format!("running {name}"), e))?;
    if out.status.success() {
        return Ok(started.elapsed());
    }
    let text = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<&str> = text.lines().take(20).collect();
    Err(crate::failed(
        format!("{name} failed ({}):\n  {}", out.status, lines.join("\n  ")),
        "fix the cause above (disk space, privileges, connection) and run the move again",
    ))
}
