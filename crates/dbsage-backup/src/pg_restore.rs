//! pg_restore: the archive's table of contents (`--list`), and a parallel restore whose errors
//! are collected and sorted into the ones managed platforms always cause (ownership of objects
//! the platform owns) and real failures.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::endpoint::Endpoint;
use crate::tools::ClientTools;

/// One `TABLE DATA` line of `pg_restore --list`: `3345; 0 16390 TABLE DATA public accounts owner`.
#[derive(Debug, Clone)]
pub struct DataEntry {
    pub dump_id: String,
    pub table: String,
}

impl DataEntry {
    pub fn is_data_of(&self, qualified: &str) -> bool {
        self.table == qualified
    }
}

/// The `TABLE DATA` entries of an archive; an unreadable archive is an error.
pub fn list(tools: &ClientTools, dump: &Path) -> dbsage_core::Result<Vec<DataEntry>> {
    let out = dbsage_cluster::child_command(tools.bin("pg_restore"))
        .arg("--list")
        .arg(dump)
        .output()
        .map_err(|e| dbsage_core::Error::io("running pg_restore --list", e))?;
    if !out.status.success() {
        return Err(crate::failed(
            format!(
                "pg_restore --list cannot read {}: {}",
                dump.display(),
                String::from_utf8_lossy(&out.stderr).trim()
            ),
            "the archive is damaged or incomplete",
        ));
    }
    let text = String::from_utf8_lossy(&out.stdout);
    Ok(text
        .lines()
        .filter(|l| !l.starts_with(';'))
        .filter_map(|line| {
            let (dump_id, rest) = line.split_once("; ")?;
            let mut words = rest.split(' ');
            let _catalog = words.next()?;
            let _oid = words.next()?;
            if words.next()? != "TABLE" || words.next()? != "DATA" {
                return None;
            }
            let schema = words.next()?;
            let name = words.next()?;
            Some(DataEntry {
                dump_id: dump_id.trim().to_string(),
                table: format!("{schema}.{name}"),
            })
        })
        .collect())
}

/// `dump/3345.dat.gz` → the table whose data it holds.
pub fn table_of_file(entries: &[DataEntry], path: &str) -> Option<String> {
    let file = path.strip_prefix("dump/")?;
    let id = file.split('.').next()?;
    entries
        .iter()
        .find(|e| e.dump_id == id)
        .map(|e| e.table.clone())
}

/// An error pg_restore reported, with the statement it was running.
#[derive(Debug, Clone, serde::Serialize)]
pub struct RestoreError {
    pub message: String,
    pub command: Option<String>,
}

impl RestoreError {
    /// Errors every restore onto a managed platform (Supabase, RDS) has: the platform owns some
    /// objects (extensions, its schemas) and the restoring role may not alter their owner.
    pub fn expected_on_managed(&self, managed_schemas: &[String]) -> bool {
        let m = &self.message;
        let privilege = m.contains("must be owner of")
            || m.contains("permission denied")
            || m.contains("must be superuser")
            || m.contains("must be member of role")
            || m.contains("must be able to SET ROLE");
        let command = self.command.as_deref().unwrap_or("");
        privilege
            && (command.contains(" OWNER TO ")
                || command.starts_with("COMMENT ON EXTENSION")
                || command.starts_with("CREATE EXTENSION")
                || managed_schemas.iter().any(|s| {
                    command.contains(&format!(" {s}.")) || command.contains(&format!("SCHEMA {s}"))
                }))
    }
}

pub struct RestoreRun {
    pub elapsed: Duration,
    pub errors: Vec<RestoreError>,
}

/// `pg_restore --jobs N` into `endpoint`'s database (which exists), going on after errors so
/// that all of them are known.
pub fn run(
    tools: &ClientTools,
    endpoint: &Endpoint,
    dump: &Path,
    jobs: u32,
) -> dbsage_core::Result<RestoreRun> {
    let started = Instant::now();
    let mut cmd = endpoint.command(tools.bin("pg_restore"));
    cmd.arg(format!("--jobs={}", jobs.max(1)))
        .arg("--no-password")
        .arg("--dbname")
        .arg(endpoint.database().unwrap_or("postgres"))
        .arg(dump)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let mut child = cmd
        .spawn()
        .map_err(|e| dbsage_core::Error::io("starting pg_restore", e))?;
    let stderr = child.stderr.take().expect("piped");
    let mut errors: Vec<RestoreError> = Vec::new();
    let mut other: Vec<String> = Vec::new();
    for line in BufReader::new(stderr).lines().map_while(Result::ok) {
        if let Some(message) = line.strip_prefix("pg_restore: error: ") {
            let message = message
                .strip_prefix("could not execute query: ")
                .unwrap_or(message);
            errors.push(RestoreError {
                message: message.to_string(),
                command: None,
            });
        } else if let Some(command) = line.strip_prefix("Command was: ") {
            if let Some(last) = errors.last_mut() {
                last.command = Some(command.to_string());
            }
        } else if !line.starts_with("pg_restore: warning: errors ignored on restore") {
            other.push(line);
        }
    }
    let status = child
        .wait()
        .map_err(|e| dbsage_core::Error::io("waiting for pg_restore", e))?;
    if !status.success() && errors.is_empty() {
        errors.push(RestoreError {
            message: format!("pg_restore failed ({status}): {}", other.join(" ")),
            command: None,
        });
    }
    Ok(RestoreRun {
        elapsed: started.elapsed(),
        errors,
    })
}
