//! `move --method dump`: the maintenance-window move. Preflight → source read-only (in-flight
//! transactions given a bound, then sessions ended) → `pg_dump -Fd -j` in a snapshot that the
//! counts use too → `pg_restore -j` → row counts, checksums and sequences compared → the
//! cutover steps. Any failure after the source went read-only sets it writable again.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde::Serialize;

use dbsage_backup::snapshot;
use dbsage_core::config::Project;
use dbsage_core::env::Target;

use crate::audit;
use crate::compare::Comparison;
use crate::gates::{Approval, Ask, Request};
use crate::preflight::Preflight;
use crate::read_only::{self, Drained};
use crate::side::Side;
use crate::Method;

#[derive(Debug, Clone)]
pub struct DumpOptions {
    /// pg_dump's and pg_restore's parallel jobs.
    pub jobs: u32,
    /// A dry run: the source stays writable (counts are then the dump's snapshot's).
    pub keep_source_writable: bool,
    /// How long in-flight transactions may take to finish before their sessions are ended.
    pub drain: Duration,
    /// Where the dump goes (a temporary directory inside it, removed afterwards); default the
    /// system's temp dir.
    pub work_dir: Option<PathBuf>,
}

impl Default for DumpOptions {
    fn default() -> Self {
        DumpOptions {
            jobs: 2,
            keep_source_writable: false,
            drain: Duration::from_secs(10),
            work_dir: None,
        }
    }
}

/// What the CLI shows while a move runs.
pub trait Progress: Sync {
    fn step(&self, _what: &str) {}
}

pub struct Silent;
impl Progress for Silent {}

#[derive(Debug, Clone, Serialize)]
pub struct DumpReport {
    pub preflight: Preflight,
    /// None with --keep-source-writable.
    pub read_only: Option<Drained>,
    pub pg_dump_version: String,
    pub dump_ms: u64,
    pub restore_ms: u64,
    /// The target's count and the comparison (the source is counted during pg_restore).
    pub compare_ms: u64,
    pub total_ms: u64,
    pub comparison: Comparison,
    pub cutover_steps: Vec<String>,
    /// The protection each side was found under and how it was confirmed.
    pub gates: Approval,
    /// The audit logs the move was recorded in (`source`, `target`).
    pub audit_logs: Vec<&'static str>,
}

pub fn dump(
    project: &Project,
    from: &Target,
    to: &Target,
    options: &DumpOptions,
    progress: &dyn Progress,
    ask: &mut Ask,
) -> dbsage_core::Result<DumpReport> {
    let started = Instant::now();
    let mut source = Side::connect(project, from)?;
    let mut target = Side::connect(project, to)?;
    progress.step("preflight");
    let preflight = crate::preflight(&mut source, &mut target, Method::Dump)?;
    if let Some(refusal) = preflight.refusal() {
        return Err(refusal);
    }
    let changes_source = !options.keep_source_writable;
    let request = Request {
        changes_source,
        confirm_source_name: true,
        plan: crate::gates::dump_plan(
            &from.name,
            &to.name,
            options.keep_source_writable,
            options.drain.as_secs(),
        ),
    };
    let approval = crate::gates::approve(project, &mut source, &mut target, &request, ask)?;
    let tools =
        dbsage_backup::tools::find(source.major.max(target.major), &["pg_dump", "pg_restore"])?;
    let source_endpoint = source.endpoint(project)?;
    let target_endpoint = target.endpoint(project)?;
    let work = match &options.work_dir {
        Some(dir) => tempfile::Builder::new()
            .prefix("dbsage-move-")
            .tempdir_in(dir),
        None => tempfile::Builder::new().prefix("dbsage-move-").tempdir(),
    }
    .map_err(|e| dbsage_core::Error::io("creating a directory for the dump", e))?;

    let facts = audit::details(from, to, Method::Dump);
    let source_log = approval.source_log(project, from);
    let mut audit_logs = Vec::new();
    // Before the snapshot: the target's copy of the source's log holds the start too.
    if changes_source
        && source_log.record(
            &mut source.client,
            "move_started",
            &format!(
                "moving `{}` → `{}` (dump): the source goes read-only",
                from.name, to.name
            ),
            facts.clone(),
            true,
        )?
    {
        audit_logs.push("source");
    }
    let drained = if options.keep_source_writable {
        None
    } else {
        progress.step("setting the source read-only");
        let drained = read_only::set(&mut source.client, options.drain)?;
        crate::interrupt::begin(
            project,
            from,
            &source.database,
            drained.was_read_only,
            Some(work.path()),
        );
        Some(drained)
    };

    let moved = (|| -> dbsage_core::Result<(u64, u64, u64, Comparison)> {
        let db = |what: &'static str| move |e| dbsage_core::Error::db(what, e);
        source
            .client
            .batch_execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            .map_err(db("starting the dump's snapshot"))?;
        let snapshot_id: String = source
            .client
            .query_one("select pg_export_snapshot()", &[])
            .map_err(db("exporting the dump's snapshot"))?
            .get(0);
        let tables =
            snapshot::tables(&mut source.client, &[]).map_err(db("listing the source's tables"))?;
        progress.step("pg_dump");
        let dir = work.path().join("dump");
        let dumped = crate::program::pg_dump(
            &tools,
            &source_endpoint,
            &dir,
            options.jobs,
            Some(&snapshot_id),
            false,
        )?;
        // The source is counted in the dump's snapshot while pg_restore loads the target: its
        // half of the comparison is off the critical path (another server, in a real move).
        progress.step("pg_restore");
        let source_client = &mut source.client;
        let (restored, source_counts) = std::thread::scope(|scope| {
            let counting =
                scope.spawn(|| crate::compare::count_side(source_client, &tables, "source"));
            let restored = crate::program::pg_restore(&tools, &target_endpoint, &dir, options.jobs);
            (restored, counting.join().expect("counting does not panic"))
        });
        let restored = restored?;
        // The dump is no longer needed: free the disk before counting.
        let _ = std::fs::remove_dir_all(&dir);
        progress.step("comparing row counts");
        let counting = Instant::now();
        let target_counts = crate::compare::count_side(&mut target.client, &tables, "target")?;
        let comparison = crate::compare::compare_counts(
            source_counts?,
            target_counts,
            &mut source.client,
            &mut target.client,
            &tables,
            !options.keep_source_writable,
        )?;
        source
            .client
            .batch_execute("COMMIT")
            .map_err(db("ending the dump's snapshot"))?;
        if !comparison.ok() {
            return Err(crate::failed(
                format!(
                    "the target does not match the source:\n  {}",
                    comparison.problems.join("\n  ")
                ),
                "do not switch over; drop and recreate the target database and run the move again",
            ));
        }
        Ok((
            dumped.as_millis() as u64,
            restored.as_millis() as u64,
            counting.elapsed().as_millis() as u64,
            comparison,
        ))
    })();
    crate::interrupt::end();
    let (dump_ms, restore_ms, compare_ms, comparison) = match moved {
        Ok(m) => m,
        Err(e) => {
            let _ = source.client.batch_execute("ROLLBACK");
            let note = match &drained {
                Some(d) => {
                    read_only::restore_after_failure(Some(&mut source.client), d, &source.database)
                }
                None => format!(
                    "the source database {} was never made read-only",
                    source.database
                ),
            };
            let note = format!(
                "{note}; the target database {} may hold part of the data: drop and recreate it before running the move again",
                target.database
            );
            if changes_source {
                let _ = source_log.record(
                    &mut source.client,
                    "move_failed",
                    &audit::failure_reason(&e),
                    audit::with(facts, serde_json::json!({ "state": note })),
                    false,
                );
            }
            return Err(crate::with_note(e, &note));
        }
    };
    let result = audit::with(
        facts,
        serde_json::json!({
            "keep_source_writable": options.keep_source_writable,
            "dump_ms": dump_ms, "restore_ms": restore_ms, "compare_ms": compare_ms,
            "tables": comparison.tables.len(), "rows": comparison.rows,
        }),
    );
    let reason = format!(
        "moved `{}` → `{}` (dump{}): {} tables, {} rows compared",
        from.name,
        to.name,
        if options.keep_source_writable {
            ", a dry run: the source stayed writable"
        } else {
            ""
        },
        comparison.tables.len(),
        comparison.rows
    );
    crate::audit::record_finished(
        &approval.target_log(project, to),
        &mut target.client,
        changes_source.then_some((&source_log, &mut source.client)),
        &reason,
        result,
        "the data is moved and compared",
    )?;
    audit_logs.push("target");
    let cutover_steps = cutover_steps(&source, &target, drained.is_some());
    Ok(DumpReport {
        preflight,
        read_only: drained,
        pg_dump_version: tools.version.clone(),
        dump_ms,
        restore_ms,
        compare_ms,
        total_ms: started.elapsed().as_millis() as u64,
        comparison,
        cutover_steps,
        gates: approval,
        audit_logs,
    })
}

/// What the team does next, in order.
pub(crate) fn cutover_steps(source: &Side, target: &Side, source_read_only: bool) -> Vec<String> {
    let mut steps = vec![
        format!(
            "point the application's connection string at `{}` ({}) and restart it",
            target.name(),
            dbsage_core::redact::redact(&target.target.display)
        ),
        "run `ANALYZE` on the target (planner statistics are not moved) — `dbsage maintain --env <target>` does".to_string(),
        format!(
            "check the application against `{}`, then make `{}` the protected environment in dbsage.toml",
            target.name(),
            target.name()
        ),
    ];
    if source_read_only {
        steps.push(format!(
            "the source `{}` stays read-only as the fallback; to fall back, point the application at it again and run `ALTER DATABASE {} RESET default_transaction_read_only;` there",
            source.name(),
            crate::quote_ident(&source.database)
        ));
    } else {
        steps.push(format!(
            "this was a dry run (--keep-source-writable): `{}` kept taking writes, so the target is a copy, not a move",
            source.name()
        ));
    }
    steps
}
