//! `dbsage backup verify`: the files against the manifest (seal, sizes, sha256), then a restore
//! on a throwaway cluster, timed (the RTO), compared table by table ([`crate::compare`]).

use std::path::{Path, PathBuf};

use dbsage_cluster::{Cluster, ClusterOptions, PgInstall};

use crate::compare::Comparison;
use crate::endpoint::Endpoint;
use crate::files::FileProblem;
use crate::manifest::{Manifest, DUMP_DIR, ROLES_FILE};
use crate::pg_restore::RestoreError;
use crate::roles::RolesOutcome;

/// The last verification's outcome, kept in the backup folder for `backup list`.
pub const RESULT_FILE: &str = "verify.json";

#[derive(Debug, Clone, serde::Serialize)]
pub struct VerifyReport {
    pub id: String,
    pub dir: PathBuf,
    pub environment: String,
    pub database: String,
    pub created_at: String,
    pub server_version: String,
    pub content: String,
    pub files: usize,
    pub total_bytes: u64,
    pub file_problems: Vec<FileProblem>,
    /// The local server the backup was restored on.
    pub restored_on: Option<String>,
    /// Roles + pg_restore, measured: the recovery time this backup gives.
    pub restore_ms: Option<u64>,
    /// Hashing the files (while the throwaway cluster starts), and the comparison after the
    /// restore: what verify adds to a bare pg_restore.
    pub files_ms: Option<u64>,
    pub compare_ms: Option<u64>,
    pub restored_bytes: Option<i64>,
    pub roles: Option<RolesOutcome>,
    pub restore_errors: Vec<RestoreError>,
    pub comparison: Option<Comparison>,
    pub note: Option<String>,
    pub ok: bool,
}

pub fn verify(dir: &Path, jobs: u32) -> dbsage_core::Result<VerifyReport> {
    verify_then(dir, jobs, |_, _| ()).map(|(report, _)| report)
}

/// [`verify`], then `after` on the restored database while its throwaway cluster still runs
/// (`backup drill` runs the smoke tests there); `None` when the backup was not restored.
pub fn verify_then<T>(
    dir: &Path,
    jobs: u32,
    after: impl FnOnce(&Cluster, &str) -> T,
) -> dbsage_core::Result<(VerifyReport, Option<T>)> {
    let manifest = Manifest::read(dir)?;
    // The files are hashed while the throwaway cluster starts and the backup is restored on it:
    // a copy restored from files that then turn out damaged is simply discarded. The cluster
    // starts on this thread: the server dies with the thread that started it
    // (PR_SET_PDEATHSIG).
    let restorable = manifest.content != "data-only";
    let (hashed, restored) = std::thread::scope(|scope| {
        let problems = scope.spawn(|| {
            let started = std::time::Instant::now();
            let problems = crate::files::check(dir, &manifest);
            (problems, started.elapsed().as_millis() as u64)
        });
        let restored = restorable.then(|| restore_on_throwaway(dir, &manifest, jobs));
        (problems.join().expect("hashing does not panic"), restored)
    });
    let (file_problems, files_ms) = hashed;
    let mut report = VerifyReport {
        id: manifest.id.clone(),
        dir: dir.to_path_buf(),
        environment: manifest.environment.clone(),
        database: manifest.database.clone(),
        created_at: manifest.created_at.clone(),
        server_version: manifest.server_version.clone(),
        content: manifest.content.clone(),
        files: manifest.files.len(),
        total_bytes: manifest.total_bytes,
        file_problems,
        files_ms: Some(files_ms),
        restored_on: None,
        restore_ms: None,
        compare_ms: None,
        restored_bytes: None,
        roles: None,
        restore_errors: Vec::new(),
        comparison: None,
        note: None,
        ok: false,
    };
    if !report.file_problems.is_empty() {
        report.note = Some("not trusted: the backup's files do not match its manifest (the copy restored meanwhile was discarded)".into());
        record(dir, &report);
        return Ok((report, None));
    }
    let Some(restored) = restored else {
        report.note = Some("files checked; a data-only backup needs its schema to restore into, so it was not restored".into());
        report.ok = true;
        record(dir, &report);
        return Ok((report, None));
    };
    let Restored {
        cluster,
        database,
        version,
        roles,
        errors,
        restore_ms,
    } = restored?;
    report.restored_on = Some(format!("PostgreSQL {version} (throwaway cluster)"));
    report.restore_ms = Some(restore_ms);
    report.roles = Some(roles);
    report.restore_errors = errors;
    let compare_started = std::time::Instant::now();
    let mut client = cluster.connect(&database)?;
    let mut other = cluster.connect(&database)?;
    report.restored_bytes = Some(
        client
            .query_one("select pg_database_size(current_database())", &[])
            .map_err(|e| dbsage_core::Error::db("measuring the restored database", e))?
            .get(0),
    );
    let comparison = crate::compare::compare(&mut client, &mut other, &manifest)
        .map_err(|e| dbsage_core::Error::db("comparing the restored database", e))?;
    report.compare_ms = Some(compare_started.elapsed().as_millis() as u64);
    report.ok = report.restore_errors.is_empty() && comparison.problems.is_empty();
    report.comparison = Some(comparison);
    record(dir, &report);
    let after = after(&cluster, &database);
    Ok((report, Some(after)))
}

/// A backup restored on a throwaway cluster.
struct Restored {
    cluster: Cluster,
    database: String,
    version: String,
    roles: RolesOutcome,
    errors: Vec<RestoreError>,
    /// Roles + pg_restore, measured: the recovery time this backup gives.
    restore_ms: u64,
}

fn restore_on_throwaway(
    dir: &Path,
    manifest: &Manifest,
    jobs: u32,
) -> dbsage_core::Result<Restored> {
    let cluster = Cluster::start_with(&ClusterOptions {
        major: throwaway_major(manifest.server_major),
        ..ClusterOptions::default()
    })?;
    let local = cluster.install().clone();
    if local.major < manifest.server_major {
        return Err(older_server(
            manifest,
            &format!("the local PostgreSQL is {}", local.version),
        ));
    }
    let tools = crate::tools::find(manifest.pg_dump_major.max(local.major), &["pg_restore"])?;
    let database = if manifest.database == "postgres" {
        "postgres".to_string()
    } else {
        cluster.create_database(&manifest.database)?;
        manifest.database.clone()
    };
    let started = std::time::Instant::now();
    let roles_sql = std::fs::read_to_string(dir.join(ROLES_FILE)).unwrap_or_default();
    let mut admin = cluster.connect("postgres")?;
    let roles = crate::roles::apply(&mut admin, &roles_sql)
        .map_err(|e| dbsage_core::Error::db("creating the backup's roles", e))?;
    let run = crate::pg_restore::run(
        &tools,
        &Endpoint::for_cluster(&cluster, &database),
        &dir.join(DUMP_DIR),
        jobs,
    )?;
    Ok(Restored {
        restore_ms: started.elapsed().as_millis() as u64,
        cluster,
        database,
        version: local.version,
        roles,
        errors: run.errors,
    })
}

/// The major version of the throwaway cluster a backup of a `server_major` server restores on:
/// the usual installation when it is at least that (`None`), else the oldest installed one that
/// is (PostgreSQL 17 fetched by `dbsage pg install 17` while the system has 15). `DBSAGE_PG_BIN`
/// names the one to use: an older one there gives [`older_server`]'s error.
fn throwaway_major(server_major: u32) -> Option<u32> {
    if std::env::var_os("DBSAGE_PG_BIN").is_some() {
        return None;
    }
    if PgInstall::find_major(None).is_ok_and(|usual| usual.major >= server_major) {
        return None;
    }
    PgInstall::installed()
        .iter()
        .map(|install| install.major)
        .filter(|&major| major >= server_major)
        .min()
}

/// "the backup is from PostgreSQL 17 and … is older": restoring into an older major fails on
/// syntax and catalogs the older server does not have.
pub(crate) fn older_server(manifest: &Manifest, what: &str) -> dbsage_core::Error {
    crate::config_error(
        format!(
            "backup {} was taken from PostgreSQL {} and {what}: a dump does not restore into an older major version",
            manifest.id, manifest.server_version
        ),
        format!(
            "restore onto PostgreSQL {} or newer (locally: install postgresql-{} or point DBSAGE_PG_BIN at it)",
            manifest.server_major, manifest.server_major
        ),
    )
}

/// Best effort: a read-only backup folder still verifies. Atomic, so `backup list` never reads
/// a torn result.
fn record(dir: &Path, report: &VerifyReport) {
    let summary = serde_json::json!({
        "ok": report.ok,
        "at": time::OffsetDateTime::now_utc()
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default(),
        "restore_ms": report.restore_ms,
    });
    let _ = dbsage_core::project_file::write(&dir.join(RESULT_FILE), &summary.to_string());
}
