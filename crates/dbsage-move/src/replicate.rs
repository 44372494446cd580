//! `move --method replicate`: the near-zero-downtime move. Preflight → the schema alone
//! (`pg_dump --schema-only` → `pg_restore`) → a publication of every table on the source → a
//! subscription on the target, which copies the rows and then streams changes. `status` reads
//! the initial sync per table (`pg_subscription_rel`) and the slot's lag; `cutover` ends it.

use std::time::Instant;

use postgres::Client;
use serde::Serialize;

use dbsage_core::config::Project;
use dbsage_core::env::Target;

use crate::audit;
use crate::dump::Progress;
use crate::gates::{Approval, Ask, Request};
use crate::preflight::Preflight;
use crate::side::Side;
use crate::state::{self, MoveState};
use crate::{quote_ident, quote_literal, Method};

/// Publication, subscription and slot name on both servers.
pub const NAME: &str = "dbsage_move";

#[derive(Debug, Clone)]
pub struct ReplicateOptions {
    pub jobs: u32,
}

#[derive(Debug, Clone, Serialize)]
pub struct ReplicateReport {
    pub preflight: Preflight,
    pub schema_ms: u64,
    pub publication: String,
    pub subscription: String,
    pub tables: Vec<String>,
    pub state_file: String,
    pub gates: Approval,
    /// The audit logs the start was recorded in (`source`; the target's log gets the result at
    /// the cutover).
    pub audit_logs: Vec<&'static str>,
}

fn db(what: &'static str) -> impl Fn(postgres::Error) -> dbsage_core::Error {
    move |e| dbsage_core::Error::db(what, e)
}

pub fn start(
    project: &Project,
    from: &Target,
    to: &Target,
    options: &ReplicateOptions,
    progress: &dyn Progress,
    ask: &mut Ask,
) -> dbsage_core::Result<ReplicateReport> {
    refuse_in_progress(project, from, to)?;
    let mut source = Side::connect(project, from)?;
    let mut target = Side::connect(project, to)?;
    progress.step("preflight");
    let preflight = crate::preflight(&mut source, &mut target, Method::Replicate)?;
    if let Some(refusal) = preflight.refusal() {
        return Err(refusal);
    }
    let request = Request {
        changes_source: true,
        confirm_source_name: true,
        plan: crate::gates::replicate_plan(&from.name, &to.name),
    };
    let approval = crate::gates::approve(project, &mut source, &mut target, &request, ask)?;
    let tools =
        dbsage_backup::tools::find(source.major.max(target.major), &["pg_dump", "pg_restore"])?;
    progress.step("copying the schema");
    let work = tempfile::Builder::new()
        .prefix("dbsage-move-schema-")
        .tempdir()
        .map_err(|e| dbsage_core::Error::io("creating a directory for the schema dump", e))?;
    let facts = audit::details(from, to, Method::Replicate);
    let source_log = approval.source_log(project, from);
    // Before the schema is copied: the log's tables are then replicated like the others.
    let mut audit_logs = Vec::new();
    if source_log.record(
        &mut source.client,
        "move_started",
        &format!(
            "moving `{}` → `{}` (replicate): publication and subscription",
            from.name, to.name
        ),
        facts.clone(),
        true,
    )? {
        audit_logs.push("source");
    }
    let subscribed = copy_and_subscribe(
        project,
        from,
        &mut source,
        &mut target,
        &tools,
        work.path(),
        options,
        progress,
    );
    let (schema_ms, tables) = match subscribed {
        Ok(done) => done,
        Err(e) => {
            if !audit_logs.is_empty() {
                let _ = source_log.record(
                    &mut source.client,
                    "move_failed",
                    &audit::failure_reason(&e),
                    facts,
                    false,
                );
            }
            return Err(e);
        }
    };
    if !audit_logs.is_empty() {
        source_log.record(
            &mut source.client,
            "move_replicating",
            &format!(
                "`{}` subscribed to `{}` ({} tables)",
                to.name,
                from.name,
                tables.len()
            ),
            audit::with(
                facts,
                serde_json::json!({ "tables": tables.len(), "schema_ms": schema_ms }),
            ),
            false,
        )?;
    }
    let state = MoveState {
        from: from.name.clone(),
        to: to.name.clone(),
        method: Method::Replicate,
        publication: NAME.into(),
        subscription: NAME.into(),
        tables: tables.clone(),
        started_at: state::now(),
        phase: "replicating".into(),
        cut_over_at: None,
    };
    state::save(project, &state)?;
    Ok(ReplicateReport {
        preflight,
        schema_ms,
        publication: NAME.into(),
        subscription: NAME.into(),
        tables,
        state_file: state::path(project, &from.name, &to.name)
            .display()
            .to_string(),
        gates: approval,
        audit_logs,
    })
}

/// The schema copied, the publication on the source and the subscription on the target: the
/// schema's milliseconds and the published tables.
#[allow(clippy::too_many_arguments)]
fn copy_and_subscribe(
    project: &Project,
    from: &Target,
    source: &mut Side,
    target: &mut Side,
    tools: &dbsage_backup::tools::ClientTools,
    work: &std::path::Path,
    options: &ReplicateOptions,
    progress: &dyn Progress,
) -> dbsage_core::Result<(u64, Vec<String>)> {
    let started = Instant::now();
    let dir = work.join("schema");
    crate::program::pg_dump(tools, &source.endpoint(project)?, &dir, 1, None, true)?;
    crate::program::pg_restore(tools, &target.endpoint(project)?, &dir, options.jobs)
        .map_err(|e| crate::with_note(e, &format!("nothing was changed on the source; the target database {} holds part of the schema: drop and recreate it before running the move again", target.database)))?;
    let schema_ms = started.elapsed().as_millis() as u64;

    let tables =
        published_tables(&mut source.client).map_err(db("listing the tables to publish"))?;
    if tables.is_empty() {
        return Err(crate::failed(
            "the source has no tables to replicate",
            "use --method dump (it also moves views, functions and sequences on their own)",
        ));
    }
    progress.step("publication on the source");
    source
        .client
        .batch_execute(&format!(
            "CREATE PUBLICATION {} FOR TABLE {} WITH (publish_via_partition_root = true)",
            quote_ident(NAME),
            tables.join(", ")
        ))
        .map_err(|e| {
            crate::failed(
                format!("cannot create the publication on the source: {}", dbsage_pgerror::describe(&e)),
                "the source environment's role must own the tables (or be a superuser); a publication named dbsage_move left by an earlier attempt: DROP PUBLICATION dbsage_move",
            )
        })?;
    progress.step("subscription on the target");
    let conninfo = source.conninfo(project)?;
    let subscribed = target.client.batch_execute(&format!(
        "CREATE SUBSCRIPTION {} CONNECTION {} PUBLICATION {}",
        quote_ident(NAME),
        quote_literal(&conninfo),
        quote_ident(NAME)
    ));
    if let Err(e) = subscribed {
        let dropped = source
            .client
            .batch_execute(&format!("DROP PUBLICATION {}", quote_ident(NAME)))
            .is_ok();
        let message = dbsage_core::redact::redact(&dbsage_pgerror::describe(&e));
        return Err(crate::failed(
            format!(
                "the target cannot subscribe to the source: {message}\n{}",
                if dropped {
                    "the publication on the source was dropped again"
                } else {
                    "the publication dbsage_move is still on the source: DROP PUBLICATION dbsage_move"
                }
            ),
            format!(
                "the target's server must reach the source at the address `{}`'s URL names, with a password and pg_hba.conf allowing `replication`-capable connections from it; then drop and recreate the target database and run the move again",
                from.name
            ),
        ));
    }
    Ok((schema_ms, tables))
}

/// A second replication move between the same environments while one runs is a usage error.
pub fn refuse_in_progress(
    project: &Project,
    from: &Target,
    to: &Target,
) -> dbsage_core::Result<()> {
    if let Some(existing) = state::load(project, &from.name, &to.name)? {
        if existing.phase != "cut-over" {
            return Err(crate::config_error(
                format!(
                    "a replication move from `{}` to `{}` is already in progress (since {})",
                    from.name, to.name, existing.started_at
                ),
                "see it with `dbsage move status`, finish it with `dbsage move cutover`",
            ));
        }
    }
    Ok(())
}

/// Tables and partitioned tables (not partitions: their root publishes them) of the database.
fn published_tables(client: &mut Client) -> Result<Vec<String>, postgres::Error> {
    Ok(client
        .query(
            "select format('%I.%I', n.nspname, c.relname) from pg_class c
               join pg_namespace n on n.oid = c.relnamespace
              where c.relkind in ('r', 'p') and not c.relispartition
                and n.nspname not in ('pg_catalog', 'information_schema')
                and n.nspname not like 'pg\\_toast%' and n.nspname not like 'pg\\_temp%'
                and not exists (select 1 from pg_depend d where d.classid = 'pg_class'::regclass
                                 and d.objid = c.oid and d.deptype = 'e')
              order by 1",
            &[],
        )?
        .iter()
        .map(|r| r.get(0))
        .collect())
}

#[derive(Debug, Clone, Serialize)]
pub struct TableSync {
    pub table: String,
    /// `initializing`, `copying`, `finished-copy`, `synchronized`, `ready` (streaming).
    pub state: &'static str,
}

#[derive(Debug, Clone, Serialize)]
pub struct SyncStatus {
    pub from: String,
    pub to: String,
    pub phase: String,
    pub started_at: String,
    pub cut_over_at: Option<String>,
    pub tables: Vec<TableSync>,
    pub ready: usize,
    /// WAL bytes the subscription has not confirmed yet (source side); None once cut over.
    pub lag_bytes: Option<i64>,
    pub subscription_enabled: Option<bool>,
}

pub fn status(project: &Project, state: &MoveState) -> dbsage_core::Result<SyncStatus> {
    let mut status = SyncStatus {
        from: state.from.clone(),
        to: state.to.clone(),
        phase: state.phase.clone(),
        started_at: state.started_at.clone(),
        cut_over_at: state.cut_over_at.clone(),
        tables: Vec::new(),
        ready: 0,
        lag_bytes: None,
        subscription_enabled: None,
    };
    if state.phase == "cut-over" {
        return Ok(status);
    }
    let mut target = Target::resolve(project, Some(&state.to))?.connect(project, "dbsage move")?;
    let mut source =
        Target::resolve(project, Some(&state.from))?.connect(project, "dbsage move")?;
    let (tables, enabled) = sync_states(&mut target, &state.subscription)?;
    status.ready = tables.iter().filter(|t| t.state == "ready").count();
    status.tables = tables;
    status.subscription_enabled = Some(enabled);
    status.lag_bytes = lag(&mut source, &state.subscription)?;
    Ok(status)
}

/// Each subscribed table's initial-sync state, and whether the subscription is enabled.
pub fn sync_states(
    target: &mut Client,
    subscription: &str,
) -> dbsage_core::Result<(Vec<TableSync>, bool)> {
    let enabled = target
        .query_opt(
            "select subenabled from pg_subscription where subname = $1 and subdbid = (select oid from pg_database where datname = current_database())",
            &[&subscription],
        )
        .map_err(db("reading the target's subscription"))?
        .ok_or_else(|| {
            crate::failed(
                format!("the subscription {subscription} is not on the target"),
                "it was dropped by hand; drop and recreate the target database, `DROP PUBLICATION dbsage_move` on the source, delete the file under .dbsage/moves/ and start again",
            )
        })?
        .get(0);
    let rows = target
        .query(
            "select format('%I.%I', n.nspname, c.relname), r.srsubstate::text
               from pg_subscription_rel r join pg_subscription s on s.oid = r.srsubid
               join pg_class c on c.oid = r.srrelid join pg_namespace n on n.oid = c.relnamespace
              where s.subname = $1 order by 1",
            &[&subscription],
        )
        .map_err(db("reading the subscription's tables"))?;
    let tables = rows
        .iter()
        .map(|r| TableSync {
            table: r.get(0),
            state: match r.get::<_, &str>(1) {
                "i" => "initializing",
                "d" => "copying",
                "f" => "finished-copy",
                "s" => "synchronized",
                "r" => "ready",
                _ => "unknown",
            },
        })
        .collect();
    Ok((tables, enabled))
}

/// Bytes of WAL between the source's current position and what the slot's subscriber has
/// confirmed; None when the slot is gone.
pub fn lag(source: &mut Client, slot: &str) -> dbsage_core::Result<Option<i64>> {
    Ok(source
        .query_opt(
            "select (pg_current_wal_lsn() - confirmed_flush_lsn)::bigint from pg_replication_slots where slot_name = $1",
            &[&slot],
        )
        .map_err(db("reading the replication slot's lag"))?
        .and_then(|r| r.get(0)))
}

#[derive(Debug, Clone, Serialize)]
pub struct AbortReport {
    pub from: String,
    pub to: String,
    /// What the target database still holds (the copied schema and rows).
    pub target_database: String,
    pub gates: Approval,
    pub audit_logs: Vec<&'static str>,
}

/// `move abort`: replication stopped and its objects dropped on both servers (subscription,
/// slot, publication), the state file removed; the source is left as it was, writable.
pub fn abort(
    project: &Project,
    state: &MoveState,
    ask: &mut Ask,
) -> dbsage_core::Result<AbortReport> {
    if state.phase == "cut-over" {
        return Err(crate::config_error(
            format!(
                "the move from `{}` to `{}` was cut over already: nothing to abort",
                state.from, state.to
            ),
            "the source is the read-only fallback; to use it again: ALTER DATABASE … RESET default_transaction_read_only",
        ));
    }
    let to = Target::resolve(project, Some(&state.to))?;
    let from = Target::resolve(project, Some(&state.from))?;
    let mut target = Side::connect(project, &to)?;
    let mut source = Side::connect(project, &from)?;
    let request = Request {
        changes_source: true,
        confirm_source_name: false,
        plan: crate::gates::abort_plan(&state.from, &state.to),
    };
    let approval = crate::gates::approve(project, &mut source, &mut target, &request, ask)?;
    target
        .client
        .batch_execute(&format!(
            "DROP SUBSCRIPTION IF EXISTS {}",
            quote_ident(&state.subscription)
        ))
        .map_err(db("dropping the subscription on the target"))?;
    source
        .client
        .batch_execute(&format!(
            "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = {};
             DROP PUBLICATION IF EXISTS {}",
            quote_literal(&state.subscription),
            quote_ident(&state.publication)
        ))
        .map_err(db("dropping the slot and publication on the source"))?;
    let facts = audit::details(&from, &to, Method::Replicate);
    let reason = format!(
        "aborted the move `{}` → `{}`: subscription, slot and publication dropped",
        state.from, state.to
    );
    let mut audit_logs = Vec::new();
    // The source's log only: the target keeps a partial copy to be dropped, and its log's
    // rows came by replication (its identity sequence was never copied).
    let source_log = approval.source_log(project, &from);
    if source_log.record(&mut source.client, "move_aborted", &reason, facts, true)? {
        audit_logs.push("source");
    }
    let path = state::path(project, &state.from, &state.to);
    std::fs::remove_file(&path)
        .map_err(|e| dbsage_core::Error::io(format!("removing {}", path.display()), e))?;
    Ok(AbortReport {
        from: state.from.clone(),
        to: state.to.clone(),
        target_database: target.database.clone(),
        gates: approval,
        audit_logs,
    })
}
