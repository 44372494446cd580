//! `move cutover`: the end of a replication move. Every table past its initial copy → source
//! read-only (in-flight transactions given a bound) → the subscriber confirms the source's
//! last WAL position → sequence values copied (logical replication does not carry them) → row
//! counts compared → the subscription (and its slot) dropped, the publication too. The source
//! stays, read-only, as the fallback. A failure before the drop sets the source writable again
//! and leaves replication running, so the cutover can simply be run again.

use std::time::{Duration, Instant};

use postgres::Client;
use serde::Serialize;

use dbsage_backup::snapshot;
use dbsage_core::config::Project;
use dbsage_core::env::Target;

use crate::audit;
use crate::compare::Comparison;
use crate::dump::Progress;
use crate::gates::{Approval, Ask, Request};
use crate::quote_ident;
use crate::read_only::{self, Drained};
use crate::side::Side;
use crate::state::{self, MoveState};

#[derive(Debug, Clone)]
pub struct CutoverOptions {
    /// How long in-flight transactions may take before their sessions are ended.
    pub drain: Duration,
    /// How long to wait for the initial copy, and then for lag 0.
    pub wait: Duration,
}

impl Default for CutoverOptions {
    fn default() -> Self {
        CutoverOptions {
            drain: Duration::from_secs(10),
            wait: Duration::from_secs(300),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct CutoverReport {
    pub from: String,
    pub to: String,
    pub read_only: Drained,
    /// Source LSN the subscriber had to confirm, and how long that took.
    pub final_lsn: String,
    pub catch_up_ms: u64,
    pub sequences_copied: usize,
    pub comparison: Comparison,
    pub total_ms: u64,
    pub cutover_steps: Vec<String>,
    pub gates: Approval,
    /// The audit logs the cutover was recorded in (`source`, `target`).
    pub audit_logs: Vec<&'static str>,
}

fn db(what: &'static str) -> impl Fn(postgres::Error) -> dbsage_core::Error {
    move |e| dbsage_core::Error::db(what, e)
}

pub fn cutover(
    project: &Project,
    state: &MoveState,
    options: &CutoverOptions,
    progress: &dyn Progress,
    ask: &mut Ask,
) -> dbsage_core::Result<CutoverReport> {
    if state.phase == "cut-over" {
        return Err(crate::config_error(
            format!(
                "the move from `{}` to `{}` was cut over already ({})",
                state.from,
                state.to,
                state.cut_over_at.as_deref().unwrap_or("")
            ),
            "nothing to do; start a new move with `dbsage move --from … --to …`",
        ));
    }
    let started = Instant::now();
    let from = Target::resolve(project, Some(&state.from))?;
    let to = Target::resolve(project, Some(&state.to))?;
    let mut source = Side::connect(project, &from)?;
    let mut target = Side::connect(project, &to)?;
    let request = Request {
        changes_source: true,
        confirm_source_name: true,
        plan: crate::gates::cutover_plan(&state.from, &state.to, options.drain.as_secs()),
    };
    let approval = crate::gates::approve(project, &mut source, &mut target, &request, ask)?;
    let facts = audit::details(&from, &to, crate::Method::Replicate);
    let source_log = approval.source_log(project, &from);

    progress.step("waiting for the initial copy of every table");
    wait_for_initial_copy(&mut target.client, &state.subscription, options.wait)?;

    let mut audit_logs = Vec::new();
    // Before the read-only step and the final WAL position: it reaches the target's log too.
    if source_log.record(
        &mut source.client,
        "move_cutover",
        &format!(
            "cutting over `{}` → `{}`: the source goes read-only",
            state.from, state.to
        ),
        facts.clone(),
        true,
    )? {
        audit_logs.push("source");
    }
    progress.step("setting the source read-only");
    let drained = read_only::set(&mut source.client, options.drain)?;
    crate::interrupt::begin(
        project,
        &source.target,
        &source.database,
        drained.was_read_only,
        None,
    );
    let finished = (|| -> dbsage_core::Result<(String, u64, usize, Comparison)> {
        progress.step("waiting for lag 0");
        let catching_up = Instant::now();
        let deadline = catching_up + options.wait;
        let tables =
            snapshot::tables(&mut source.client, &[]).map_err(db("listing the source's tables"))?;
        // The slot's confirmed position can run ahead of what the subscriber has applied (it
        // answers a keepalive with the WAL end the keepalive announced), so lag 0 is confirmed
        // by the comparison itself, tried again until it matches or the wait is over.
        let (lsn, copied, comparison) = loop {
            let lsn: String = source
                .client
                .query_one("select pg_current_wal_lsn()::text", &[])
                .map_err(db("reading the source's WAL position"))?
                .get(0);
            let left = deadline.saturating_duration_since(Instant::now());
            wait_for_lsn(&mut source.client, &state.subscription, &lsn, left)?;
            progress.step("copying sequence values");
            let copied = copy_sequences(&mut source.client, &mut target.client)?;
            progress.step("comparing row counts");
            let comparison =
                crate::compare::compare(&mut source.client, &mut target.client, &tables, true)?;
            if comparison.ok() || Instant::now() >= deadline {
                break (lsn, copied, comparison);
            }
            std::thread::sleep(Duration::from_millis(200));
        };
        let catch_up_ms = catching_up.elapsed().as_millis() as u64;
        if !comparison.ok() {
            return Err(crate::failed(
                format!(
                    "after lag 0 the target still does not match the source:\n  {}",
                    comparison.problems.join("\n  ")
                ),
                "replication is still running; see `dbsage move status` and the target server's log (a conflict stops the apply worker), then run `dbsage move cutover` again",
            ));
        }
        Ok((lsn, catch_up_ms, copied, comparison))
    })();
    crate::interrupt::end();
    let (final_lsn, catch_up_ms, sequences_copied, comparison) = match finished {
        Ok(f) => f,
        Err(e) => {
            let note = read_only::restore_after_failure(
                Some(&mut source.client),
                &drained,
                &source.database,
            );
            let _ = source_log.record(
                &mut source.client,
                "move_failed",
                &audit::failure_reason(&e),
                audit::with(facts, serde_json::json!({ "state": note })),
                false,
            );
            return Err(crate::with_note(
                e,
                &format!("{note}; replication keeps running, the cutover can be run again"),
            ));
        }
    };
    progress.step("dropping the subscription");
    // Past this point the target has everything: a failure to clean up is reported, the source
    // stays read-only (the application may already be moving).
    target
        .client
        .batch_execute(&format!("DROP SUBSCRIPTION {}", quote_ident(&state.subscription)))
        .map_err(|e| {
            crate::failed(
                format!("the data is all on the target, but dropping its subscription failed: {}", dbsage_pgerror::headline(&e)),
                format!("on the target: DROP SUBSCRIPTION {0}; on the source: SELECT pg_drop_replication_slot('{0}'); DROP PUBLICATION {0};", state.subscription),
            )
        })?;
    // The slot would keep WAL on the source forever; the subscription no longer owns it.
    source
        .client
        .batch_execute(&format!(
            "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = '{}'; DROP PUBLICATION IF EXISTS {}",
            state.subscription.replace('\'', "''"),
            quote_ident(&state.publication)
        ))
        .map_err(|e| {
            crate::failed(
                format!("the move is done, but the source's slot or publication could not be dropped: {}", dbsage_pgerror::headline(&e)),
                format!("on the source: SELECT pg_drop_replication_slot('{0}'); DROP PUBLICATION {1}; (an abandoned slot keeps WAL forever)", state.subscription, state.publication),
            )
        })?;
    let mut done = state.clone();
    done.phase = "cut-over".into();
    done.cut_over_at = Some(state::now());
    state::save(project, &done)?;
    let result = audit::with(
        facts,
        serde_json::json!({
            "final_lsn": final_lsn, "catch_up_ms": catch_up_ms,
            "sequences_copied": sequences_copied,
            "tables": comparison.tables.len(), "rows": comparison.rows,
        }),
    );
    let reason = format!(
        "moved `{}` → `{}` (replicate, cut over): {} tables, {} rows compared",
        state.from,
        state.to,
        comparison.tables.len(),
        comparison.rows
    );
    crate::audit::record_finished(
        &approval.target_log(project, &to),
        &mut target.client,
        Some((&source_log, &mut source.client)),
        &reason,
        result,
        "the move is cut over",
    )?;
    audit_logs.push("target");
    let cutover_steps = crate::dump::cutover_steps(&source, &target, true);
    Ok(CutoverReport {
        from: state.from.clone(),
        to: state.to.clone(),
        read_only: drained,
        final_lsn,
        catch_up_ms,
        sequences_copied,
        comparison,
        total_ms: started.elapsed().as_millis() as u64,
        cutover_steps,
        gates: approval,
        audit_logs,
    })
}

fn wait_for_initial_copy(
    target: &mut Client,
    subscription: &str,
    wait: Duration,
) -> dbsage_core::Result<()> {
    let started = Instant::now();
    loop {
        let (tables, enabled) = crate::replicate::sync_states(target, subscription)?;
        let pending: Vec<String> = tables
            .iter()
            .filter(|t| t.state != "ready")
            .map(|t| format!("{} ({})", t.table, t.state))
            .collect();
        if pending.is_empty() && enabled {
            return Ok(());
        }
        if started.elapsed() >= wait {
            return Err(crate::failed(
                format!(
                    "after {} s the initial copy is not finished{}: {}",
                    wait.as_secs(),
                    if enabled { "" } else { " (the subscription is disabled)" },
                    pending.join(", ")
                ),
                "nothing was changed, the source is still writable; watch `dbsage move status` and run the cutover when every table is ready (or pass a longer --wait)",
            ));
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Until the slot's subscriber confirms `lsn`. A read-only source still writes WAL now and then
/// (checkpoints, other databases), so the comparison is ≥, not lag = 0 exactly.
fn wait_for_lsn(
    source: &mut Client,
    slot: &str,
    lsn: &str,
    wait: Duration,
) -> dbsage_core::Result<()> {
    let started = Instant::now();
    loop {
        let row = source
            .query_opt(
                "select confirmed_flush_lsn >= $2::text::pg_lsn, (pg_current_wal_lsn() - confirmed_flush_lsn)::bigint
                   from pg_replication_slots where slot_name = $1",
                &[&slot, &lsn],
            )
            .map_err(db("reading the replication slot"))?
            .ok_or_else(|| {
                crate::failed(
                    format!("the replication slot {slot} is gone from the source"),
                    "the subscription cannot catch up without it: drop and recreate the target database, `DROP PUBLICATION dbsage_move` on the source and start the move again",
                )
            })?;
        if row.get::<_, Option<bool>>(0) == Some(true) {
            return Ok(());
        }
        if started.elapsed() >= wait {
            let lag: Option<i64> = row.get(1);
            return Err(crate::failed(
                format!(
                    "the target did not catch up within {} s ({} bytes of WAL behind)",
                    wait.as_secs(),
                    lag.unwrap_or(-1)
                ),
                "check the target server's log for the apply worker's errors, or pass a longer --wait",
            ));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Every sequence's value from the source, set on the target.
fn copy_sequences(source: &mut Client, target: &mut Client) -> dbsage_core::Result<usize> {
    let values = crate::compare::sequences(source).map_err(db("reading the source's sequences"))?;
    let mut copied = 0;
    for (name, value) in values {
        let Some(value) = value else { continue };
        target
            .execute(
                "select setval($1::text::regclass, $2, true)",
                &[&name, &value],
            )
            .map_err(|e| {
                crate::failed(
                    format!(
                        "cannot set sequence {name} on the target: {}",
                        dbsage_pgerror::headline(&e)
                    ),
                    "the target environment's role needs UPDATE on the sequences (or to own them)",
                )
            })?;
        copied += 1;
    }
    Ok(copied)
}
