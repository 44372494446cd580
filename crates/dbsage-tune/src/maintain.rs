//! `dbsage maintain`: the routine work `tune` points at, done without long locks or giant
//! transactions: ANALYZE where statistics are stale, VACUUM (ANALYZE) where dead rows are over
//! autovacuum's threshold, `REINDEX INDEX CONCURRENTLY` for invalid and bloated indexes, and
//! retention rules (`[[maintain.retention]]`) deleted in batches, each its own transaction.
//!
//! Every statement runs with a `lock_timeout`, so maintenance waits a few seconds at most
//! behind the application and never queues others behind itself; a statement that fails is
//! reported and the rest go on.

use std::time::{Duration, Instant};

use postgres::Client;
use serde::{Deserialize, Serialize};

use crate::findings::{self, table_facts, TuneOptions};
use crate::TuneError;

/// One `[[maintain.retention]]` rule: delete the rows of `table` matching `where`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RetentionRule {
    pub table: String,
    #[serde(rename = "where")]
    pub condition: String,
    /// Rows per transaction (default 10,000).
    pub batch_size: Option<i64>,
}

/// `[maintain]` in dbsage.toml.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MaintainConfig {
    #[serde(default)]
    pub retention: Vec<RetentionRule>,
    /// The pause between two retention batches, in milliseconds (default 100), so replicas and
    /// autovacuum keep up.
    pub pause_ms: Option<u64>,
}

pub const DEFAULT_BATCH_SIZE: i64 = 10_000;
const DEFAULT_PAUSE: Duration = Duration::from_millis(100);
/// How long any maintenance statement waits for a lock before giving up on that object.
const LOCK_TIMEOUT: &str = "5s";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    Analyze,
    Vacuum,
    Reindex,
    Retention,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    /// Done.
    Ran,
    /// `--dry-run`: what would run.
    Planned,
    /// Tried and failed (the error is in `detail`); the rest went on.
    Failed,
    /// Not attempted (why is in `detail`).
    Skipped,
}

/// One maintenance step and what became of it.
#[derive(Debug, Clone, Serialize)]
pub struct Action {
    pub kind: Kind,
    /// `table public.t`, `index public.i`.
    pub object: String,
    /// Why it is due, with the numbers.
    pub reason: String,
    pub sql: String,
    pub status: Status,
    /// Retention: rows deleted (or, dry run, that would be).
    pub rows: Option<i64>,
    /// Retention: transactions used (or, dry run, that would be).
    pub batches: Option<i64>,
    /// Retention: rows per transaction.
    pub batch_size: Option<i64>,
    pub seconds: f64,
    pub detail: Option<String>,
}

/// Retention progress, after each batch.
#[derive(Debug, Clone)]
pub struct Progress<'a> {
    pub table: &'a str,
    pub deleted: i64,
    /// Rows matching when the rule started.
    pub total: i64,
}

/// What is due, from the live database (read only).
pub fn plan(client: &mut Client, config: &MaintainConfig) -> Result<Vec<Action>, TuneError> {
    // The findings `tune` would report (statistics age does not matter for these checks).
    let report = findings::tune(client, &TuneOptions::default())?;
    client
        .batch_execute("begin isolation level repeatable read read only")
        .map_err(TuneError::db("starting a read-only transaction"))?;
    let tables = table_facts::read(client);
    client
        .batch_execute("commit")
        .map_err(TuneError::db("ending the read-only transaction"))?;
    let tables = tables?;
    let mut actions = Vec::new();
    for t in tables.iter().filter(|t| t.kind != "p") {
        if t.dead_rows as f64 > t.vacuum_threshold && t.dead_rows > 0 {
            actions.push(action(
                Kind::Vacuum,
                format!("table {}", t.name),
                format!(
                    "{} dead rows, over autovacuum's threshold of {:.0} (last vacuum: {})",
                    t.dead_rows,
                    t.vacuum_threshold,
                    t.last_vacuumed.as_deref().unwrap_or("never")
                ),
                format!("VACUUM (ANALYZE) {}", t.name),
            ));
        } else if let Some(reason) = t.stale_reason() {
            actions.push(action(
                Kind::Analyze,
                format!("table {}", t.name),
                format!("statistics are stale: {reason}"),
                format!("ANALYZE {}", t.name),
            ));
        }
    }
    for f in report
        .findings
        .iter()
        .filter(|f| f.check == "invalid-index" || f.check == "index-bloat")
    {
        let index = f.object.trim_start_matches("index ");
        let why = if f.check == "invalid-index" {
            "invalid (a failed concurrent build)".to_string()
        } else {
            format!(
                "bloated: about {} % wasted",
                (f.evidence["wasted_share"].as_f64().unwrap_or(0.0) * 100.0).round()
            )
        };
        actions.push(action(
            Kind::Reindex,
            f.object.clone(),
            why,
            format!("REINDEX INDEX CONCURRENTLY {index}"),
        ));
    }
    for rule in &config.retention {
        actions.push(retention_action(client, rule)?);
    }
    Ok(actions)
}

fn action(kind: Kind, object: String, reason: String, sql: String) -> Action {
    Action {
        kind,
        object,
        reason,
        sql,
        status: Status::Planned,
        rows: None,
        batches: None,
        batch_size: None,
        seconds: 0.0,
        detail: None,
    }
}

/// The rule's table, resolved and quoted by the server, and how many rows match now.
fn retention_action(client: &mut Client, rule: &RetentionRule) -> Result<Action, TuneError> {
    if rule.condition.trim().is_empty() {
        return Err(TuneError::BadInput(format!(
            "[[maintain.retention]] for `{}` has an empty `where`: refusing to delete every row (write the condition, e.g. where = \"created_at < now() - interval '1 year'\")",
            rule.table
        )));
    }
    if rule.batch_size.is_some_and(|b| b < 1) {
        return Err(TuneError::BadInput(format!(
            "[[maintain.retention]] for `{}`: batch_size must be 1 or more",
            rule.table
        )));
    }
    let table: String = client
        .query_opt(
            "select quote_ident(n.nspname) || '.' || quote_ident(c.relname)
               from pg_catalog.pg_class c join pg_catalog.pg_namespace n on n.oid = c.relnamespace
              where c.oid = to_regclass($1)",
            &[&rule.table],
        )
        .map_err(TuneError::db(format!("looking up retention table `{}`", rule.table)))?
        .map(|r| r.get(0))
        .ok_or_else(|| {
            TuneError::BadInput(format!(
                "[[maintain.retention]] names table `{}`, which does not exist in this database (name it as schema.table)",
                rule.table
            ))
        })?;
    let count_sql = format!("select count(*) from {table} where {}", rule.condition);
    let matching: i64 = client
        .query_one(&count_sql, &[])
        .map_err(TuneError::db(format!(
            "[[maintain.retention]] for {table}: counting the rows `where {}`",
            rule.condition
        )))?
        .get(0);
    let batch = rule.batch_size.unwrap_or(DEFAULT_BATCH_SIZE);
    let mut a = action(
        Kind::Retention,
        format!("table {table}"),
        format!("{matching} rows match `{}`", rule.condition),
        delete_batch_sql(&table, &rule.condition, batch),
    );
    a.rows = Some(matching);
    a.batches = Some((matching + batch - 1) / batch);
    a.batch_size = Some(batch);
    Ok(a)
}

/// One batch: the matching rows' addresses first, then a delete by address (a TID scan).
fn delete_batch_sql(table: &str, condition: &str, batch: i64) -> String {
    format!(
        "DELETE FROM {table} WHERE ctid = ANY (ARRAY(SELECT ctid FROM {table} WHERE {condition} LIMIT {batch}))"
    )
}

/// Runs the plan (or, `dry_run`, returns it as planned). Each statement in its own
/// transaction; a failure is recorded and the rest go on.
pub fn run(
    client: &mut Client,
    mut actions: Vec<Action>,
    config: &MaintainConfig,
    dry_run: bool,
    progress: &mut dyn FnMut(&Progress),
) -> Result<Vec<Action>, TuneError> {
    if dry_run {
        return Ok(actions);
    }
    client
        .batch_execute(&format!("set lock_timeout = '{LOCK_TIMEOUT}'"))
        .map_err(TuneError::db("setting lock_timeout"))?;
    let pause = config
        .pause_ms
        .map(Duration::from_millis)
        .unwrap_or(DEFAULT_PAUSE);
    for a in &mut actions {
        if a.kind == Kind::Retention && a.rows == Some(0) {
            a.status = Status::Skipped;
            a.detail = Some("no rows match".into());
            continue;
        }
        let started = Instant::now();
        let result = match a.kind {
            Kind::Retention => retention(client, a, pause, progress),
            Kind::Reindex => reindex(client, a),
            _ => client.batch_execute(&a.sql).map(|_| ()),
        };
        a.seconds = (started.elapsed().as_secs_f64() * 1000.0).round() / 1000.0;
        match result {
            Ok(()) => a.status = Status::Ran,
            Err(e) => {
                a.status = Status::Failed;
                a.detail = Some(dbsage_pgerror::describe(&e));
            }
        }
    }
    Ok(actions)
}

/// `REINDEX INDEX CONCURRENTLY`; when it fails, the invalid `<index>_ccnew` copy the server
/// leaves behind is dropped (else every failed run would add one more index to maintain).
fn reindex(client: &mut Client, a: &mut Action) -> Result<(), postgres::Error> {
    let index = a.object.trim_start_matches("index ").to_string();
    let leftovers = |client: &mut Client| -> Result<Vec<String>, postgres::Error> {
        Ok(client
            .query(
                "select quote_ident(n.nspname) || '.' || quote_ident(ic.relname)
                   from pg_catalog.pg_index i
                   join pg_catalog.pg_class ic on ic.oid = i.indexrelid
                   join pg_catalog.pg_namespace n on n.oid = ic.relnamespace
                   join pg_catalog.pg_class orig on orig.oid = $1::text::regclass
                  where i.indrelid = (select indrelid from pg_catalog.pg_index where indexrelid = orig.oid)
                    and not i.indisvalid and ic.relname like orig.relname || '\\_ccnew%'",
                &[&index],
            )?
            .iter()
            .map(|r| r.get(0))
            .collect())
    };
    let before = leftovers(client)?;
    let Err(e) = client.batch_execute(&a.sql) else {
        return Ok(());
    };
    let mut dropped = Vec::new();
    for leftover in leftovers(client)?
        .into_iter()
        .filter(|l| !before.contains(l))
    {
        client.batch_execute(&format!("DROP INDEX CONCURRENTLY IF EXISTS {leftover}"))?;
        dropped.push(leftover);
    }
    if !dropped.is_empty() {
        a.reason.push_str(&format!(
            "; the failed rebuild's leftover {} was dropped",
            dropped.join(", ")
        ));
    }
    Err(e)
}

/// Deletes in batches until a batch comes back short; `a.rows` and `a.batches` become what
/// was done.
fn retention(
    client: &mut Client,
    a: &mut Action,
    pause: Duration,
    progress: &mut dyn FnMut(&Progress),
) -> Result<(), postgres::Error> {
    let total = a.rows.unwrap_or(0);
    let batch_size = a.batch_size.unwrap_or(DEFAULT_BATCH_SIZE) as u64;
    let table = a.object.trim_start_matches("table ").to_string();
    let (mut deleted, mut batches) = (0i64, 0i64);
    let outcome = loop {
        let n = match client.execute(&a.sql, &[]) {
            Ok(n) => n,
            Err(e) => break Err(e),
        };
        if n == 0 {
            break Ok(());
        }
        deleted += n as i64;
        batches += 1;
        progress(&Progress {
            table: &table,
            deleted,
            total,
        });
        if n < batch_size {
            break Ok(());
        }
        std::thread::sleep(pause);
    };
    a.rows = Some(deleted);
    a.batches = Some(batches);
    outcome
}
