//! Honest reporting of no-transaction files (migrations and down files) that stop midway.
//!
//! Statements outside a transaction stay applied when a later one fails or the run is
//! interrupted. So a `started` event is appended before the first statement (outside any
//! transaction), a `partial` event when the file stops midway (`failed` when nothing ran), and
//! `applied` / `rolled_back` when it completes. A `started` or `partial` event that is the
//! newest for its version means the file is half done; `status` reports it with the fix.
//! The Ctrl-C handler cannot query the database, so the progress is also kept in memory
//! ([`in_progress`]).

use std::path::Path;
use std::sync::Mutex;

use postgres::Client;
use serde::Serialize;

use crate::config::HistoryTable;
use crate::error::{Error, Result};
use crate::history;
use crate::migrate::locate_error;
use dbsage_sql::{NodeEnum, ParsedSql};

/// Which file of a migration ran.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// The migration itself.
    Up,
    /// Its down file (`rollback`).
    Down,
}

/// A no-transaction file about to run.
pub struct NoTransactionFile<'a> {
    pub version: &'a str,
    pub name: &'a str,
    pub path: &'a Path,
    pub text: &'a str,
    pub parsed: &'a ParsedSql,
    pub direction: Direction,
}

/// The file running now, for the Ctrl-C handler.
struct Running {
    label: String,
    direction: Direction,
    summaries: Vec<String>,
    done: usize,
}

static RUNNING: Mutex<Option<Running>> = Mutex::new(None);

fn set_running(running: Option<Running>) {
    *RUNNING.lock().unwrap_or_else(|e| e.into_inner()) = running;
}

/// What an interruption leaves behind right now: `None` when no no-transaction file is running
/// (an open transaction is rolled back by the server when the connection closes).
pub fn in_progress() -> Option<String> {
    let guard = RUNNING.lock().unwrap_or_else(|e| e.into_inner());
    let r = guard.as_ref()?;
    let what = match r.direction {
        Direction::Up => "no-transaction migration",
        Direction::Down => "no-transaction down file of",
    };
    let running = r
        .summaries
        .get(r.done)
        .map(|s| {
            format!(
                "; statement {} ({s}) was running and may be half done (e.g. an INVALID index)",
                r.done + 1
            )
        })
        .unwrap_or_default();
    Some(format!(
        "the {what} {} was interrupted: {}{running}; `dbsage status` shows it as partial",
        r.label,
        ran(r.done, &r.summaries)
    ))
}

/// "1/3 statements ran: CREATE INDEX CONCURRENTLY orders_a_idx".
pub fn ran(done: usize, summaries: &[String]) -> String {
    let total = summaries.len();
    if done == 0 {
        return format!("0/{total} statements ran");
    }
    format!(
        "{done}/{total} statements ran: {}",
        summaries[..done].join("; ")
    )
}

/// A short name for what a statement does and to which object: the text up to its column list,
/// `ON`, `AS` or `VALUES` part (`CREATE INDEX CONCURRENTLY orders_a_idx`), at most 80 chars.
pub fn summary(statement_text: &str) -> String {
    let words: Vec<&str> = statement_text
        .lines()
        .map(|l| l.split("--").next().unwrap_or(""))
        .flat_map(str::split_whitespace)
        .collect();
    let mut out = String::new();
    for word in words {
        let upper = word.to_ascii_uppercase();
        if !out.is_empty() && matches!(upper.as_str(), "ON" | "AS" | "VALUES" | "USING" | "FROM") {
            break;
        }
        let head = word.split('(').next().unwrap_or("");
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(head);
        if head.len() < word.len() || out.len() > 80 {
            break;
        }
    }
    let out = out.trim().to_string();
    if out.chars().count() > 80 {
        format!("{}…", out.chars().take(80).collect::<String>())
    } else {
        out
    }
}

/// Runs a no-transaction file statement by statement, recording `started` before and `partial`
/// (or `failed` when nothing ran) if it stops midway. The caller records the completion.
pub fn run_no_transaction(
    client: &mut Client,
    table: &HistoryTable,
    file: &NoTransactionFile,
) -> Result<()> {
    let statements = &file.parsed.statements;
    let summaries: Vec<String> = statements
        .iter()
        .map(|s| summary(&file.text[s.code_start..s.range.end]))
        .collect();
    history::record_event(
        client,
        table,
        Some(file.version),
        Some(file.name),
        "started",
        None,
        Some(serde_json::json!({
            "direction": file.direction,
            "statements_total": statements.len(),
            "statements": summaries,
        })),
    )?;
    set_running(Some(Running {
        label: format!("{}_{}", file.version, file.name),
        direction: file.direction,
        summaries: summaries.clone(),
        done: 0,
    }));
    let mut failure = None;
    // The file's own BEGIN still open (adopted files may hold BEGIN … COMMIT).
    let mut open_block: Option<usize> = None;
    for (i, stmt) in statements.iter().enumerate() {
        if let Err(e) = client.batch_execute(stmt.text(file.text)) {
            failure = Some((i, Box::new(locate_error(file.path, file.text, stmt, &e))));
            break;
        }
        open_block = own_transaction_after(open_block, i, &stmt.node);
        if let Some(r) = RUNNING.lock().unwrap_or_else(|e| e.into_inner()).as_mut() {
            r.done = i + 1;
        }
    }
    let Some((failed_at, mut error)) = failure else {
        set_running(None);
        return Ok(());
    };
    // A failure inside the file's own transaction rolls back what ran since its BEGIN: only the
    // statements before it stay. End the aborted block so the session can record the event.
    let done = open_block.unwrap_or(failed_at);
    if let Some(begin) = open_block {
        let _ = client.batch_execute("ROLLBACK");
        let note = format!(
            "the file's own transaction (from statement {}) was rolled back with the failure",
            begin + 1
        );
        let hint = error.dbsage_hint.take().unwrap_or_default();
        error.dbsage_hint = Some(format!("{note}\n{hint}").trim().to_string());
    }
    let recorded = history::record_event(
        client,
        table,
        Some(file.version),
        Some(file.name),
        if done == 0 { "failed" } else { "partial" },
        Some(&format!("{}: {}", error.sqlstate, error.message)),
        Some(serde_json::json!({
            "direction": file.direction,
            "statements_done": done,
            "statements_total": statements.len(),
            "ran": summaries[..done],
            "failed_statement": summaries[failed_at],
        })),
    );
    set_running(None);
    if done > 0 {
        let mut hint = error.dbsage_hint.take().unwrap_or_default();
        hint.push_str(&format!(
            "\nPARTIAL: this file runs outside a transaction and {}; they stay applied. {}",
            ran(done, &summaries),
            fix(file.direction)
        ));
        error.dbsage_hint = Some(hint.trim().to_string());
    }
    recorded?;
    Err(Error::Migration(error))
}

/// What to do about a half-done file.
pub fn fix(direction: Direction) -> &'static str {
    match direction {
        Direction::Up => "The migration is not recorded as applied: clean up what the failed statement left (drop an INVALID index with DROP INDEX CONCURRENTLY IF EXISTS …), make the statements idempotent (IF NOT EXISTS) and run migrate again",
        Direction::Down => "The migration is still recorded as applied: clean up what the failed statement left, make the down file idempotent (IF EXISTS) and roll it back again (`dbsage rollback`)",
    }
}

/// A file whose newest event says it stopped midway (`partial`) or never finished (`started`:
/// interrupted, or running right now).
#[derive(Debug, Clone, Serialize)]
pub struct PartialRun {
    pub version: String,
    pub direction: Direction,
    /// `None` when the run was interrupted: the statements that ran are not known.
    pub statements_done: Option<u64>,
    pub statements_total: u64,
    /// The statements that ran (all of them may have, when interrupted).
    pub ran: Vec<String>,
    pub interrupted: bool,
    pub at: String,
    pub fix: String,
}

/// Every version whose newest run event is `started` or `partial`.
pub fn unfinished_runs(client: &mut Client, table: &HistoryTable) -> Result<Vec<PartialRun>> {
    if !crate::event_log::events_exist(client, table)? {
        return Ok(Vec::new());
    }
    let rows = client
        .query(
            &format!(
                "select version, event, coalesce(details, '{{}}')::text,
                        to_char(at at time zone 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')
                 from (select distinct on (version) version, event, details, at from {}
                       where version is not null
                         and event in ('started', 'partial', 'failed', 'applied', 'rolled_back')
                       order by version, id desc) newest
                 where event in ('started', 'partial')",
                table.events()
            ),
            &[],
        )
        .map_err(|e| Error::db("reading the audit log", e))?;
    Ok(rows
        .iter()
        .map(|r| {
            let event: String = r.get(1);
            let details: serde_json::Value =
                serde_json::from_str(&r.get::<_, String>(2)).unwrap_or_default();
            let direction = if details["direction"] == "down" {
                Direction::Down
            } else {
                Direction::Up
            };
            let strings = |key: &str| -> Vec<String> {
                details[key]
                    .as_array()
                    .map(|a| {
                        a.iter()
                            .filter_map(|v| v.as_str().map(str::to_string))
                            .collect()
                    })
                    .unwrap_or_default()
            };
            let interrupted = event == "started";
            let fix = if interrupted {
                format!("it was interrupted (or is running now) and any of its statements may have run: check which of them took effect. {}", fix(direction))
            } else {
                fix(direction).to_string()
            };
            PartialRun {
                version: r.get(0),
                direction,
                statements_done: details["statements_done"].as_u64(),
                statements_total: details["statements_total"].as_u64().unwrap_or(0),
                ran: if interrupted {
                    strings("statements")
                } else {
                    strings("ran")
                },
                interrupted,
                at: r.get(3),
                fix,
            }
        })
        .collect())
}

/// The index of the file's own open BEGIN after statement `i` ran: set by BEGIN / START
/// TRANSACTION, cleared by COMMIT / END / ROLLBACK (savepoints change nothing).
fn own_transaction_after(open: Option<usize>, i: usize, node: &NodeEnum) -> Option<usize> {
    use dbsage_sql::pg_query::protobuf::TransactionStmtKind as Kind;
    let NodeEnum::TransactionStmt(t) = node else {
        return open;
    };
    match t.kind() {
        Kind::TransStmtBegin | Kind::TransStmtStart => open.or(Some(i)),
        Kind::TransStmtCommit | Kind::TransStmtRollback | Kind::TransStmtPrepare => None,
        _ => open,
    }
}
