//! Applying migrations: status, consistency gates, one transaction per migration with its
//! history row, no-transaction files, lock and statement timeouts, and errors located in files.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Instant;

use postgres::error::ErrorPosition;
use postgres::{Client, GenericClient};
use serde::Serialize;

use crate::config::{parse_duration, HistoryTable, Project};
use crate::error::{hint_for_sqlstate, Error, MigrationError, Result};
use crate::history::{self, AppliedRow, LockHolder};
use crate::migrations::{compare_versions, MigrationFile};
use dbsage_sql::{line_col, NodeEnum, ParsedSql, Statement};

/// Where a migration stands on one database.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum State {
    Applied,
    Pending,
    /// Applied, but the file changed since (checksum mismatch).
    Modified,
    /// Applied, but the file is gone from disk.
    Missing,
    /// A no-transaction migration or down file stopped midway (see [`crate::partial`]).
    Partial,
}

#[derive(Debug, Clone, Serialize)]
pub struct StatusEntry {
    pub version: String,
    pub name: String,
    pub state: State,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub applied_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub applied_by: Option<String>,
    /// True for a pending migration older than the newest applied one.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub out_of_order: bool,
    /// What ran and the fix, for a `partial` migration.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub partial: Option<crate::partial::PartialRun>,
}

/// Merges the files on disk with the history rows, ordered by version.
pub fn status_entries(files: &[MigrationFile], applied: &[AppliedRow]) -> Vec<StatusEntry> {
    let newest_applied = applied
        .iter()
        .map(|a| a.version.as_str())
        .max_by(|a, b| compare_versions(a, b));
    let mut entries: Vec<StatusEntry> = files
        .iter()
        .map(|f| {
            let row = applied.iter().find(|a| a.version == f.version);
            let state = match row {
                None => State::Pending,
                Some(r) if r.checksum == f.checksum => State::Applied,
                Some(_) => State::Modified,
            };
            StatusEntry {
                version: f.version.clone(),
                name: f.name.clone(),
                state,
                applied_at: row.map(|r| r.applied_at.clone()),
                applied_by: row.map(|r| r.applied_by.clone()),
                out_of_order: state == State::Pending
                    && newest_applied.is_some_and(|n| compare_versions(&f.version, n).is_lt()),
                partial: None,
            }
        })
        .collect();
    for row in applied {
        if !files.iter().any(|f| f.version == row.version) {
            entries.push(StatusEntry {
                version: row.version.clone(),
                name: row.name.clone(),
                state: State::Missing,
                applied_at: Some(row.applied_at.clone()),
                applied_by: Some(row.applied_by.clone()),
                out_of_order: false,
                partial: None,
            });
        }
    }
    entries.sort_by(|a, b| compare_versions(&a.version, &b.version));
    entries
}

/// Refuses to migrate over an inconsistent history: an applied file edited or deleted, or a
/// pending file older than the newest applied one (unless allowed).
pub fn check_consistency(entries: &[StatusEntry], allow_out_of_order: bool) -> Result<()> {
    let mut problems = Vec::new();
    let mut hints = Vec::new();
    for e in entries {
        match e.state {
            State::Modified => {
                problems.push(format!(
                    "{}_{} was edited after it was applied (checksum mismatch)",
                    e.version, e.name
                ));
                hints.push(format!(
                    "revert the edit and put the change in a new migration (`dbsage new …`), or, if the edit is harmless (comments, formatting), accept it: dbsage repair --accept-checksum {} --reason \"…\"",
                    e.version
                ));
            }
            State::Missing => {
                problems.push(format!(
                    "{}_{} is recorded as applied but its file is missing",
                    e.version, e.name
                ));
                hints.push(format!(
                    "restore the file from version control, or, if it was deliberately removed, forget it: dbsage repair --forget {} --reason \"…\"",
                    e.version
                ));
            }
            State::Pending if e.out_of_order && !allow_out_of_order => {
                problems.push(format!(
                    "{}_{} is pending but older than the newest applied migration (out of order)",
                    e.version, e.name
                ));
                hints.push("apply it anyway with --allow-out-of-order after checking it does not depend on later migrations, or rename it to a newer version".into());
            }
            _ => {}
        }
    }
    if problems.is_empty() {
        return Ok(());
    }
    hints.dedup();
    Err(Error::Inconsistent {
        message: format!("refusing to migrate:\n  - {}", problems.join("\n  - ")),
        hint: hints.join("\n"),
    })
}

/// The settings each migration runs under.
#[derive(Debug, Clone)]
pub struct Timeouts {
    pub lock_timeout: String,
    pub statement_timeout: String,
    pub lock_wait: std::time::Duration,
}

impl Timeouts {
    pub fn from_project(project: &Project) -> Timeouts {
        let m = &project.config.migrate;
        Timeouts {
            lock_timeout: m.lock_timeout.clone(),
            statement_timeout: m.statement_timeout.clone(),
            lock_wait: parse_duration(&m.lock_wait_timeout).unwrap_or_default(),
        }
    }
}

/// What `run` reports as it goes.
pub enum Progress<'a> {
    WaitingForLock(&'a LockHolder),
    Applying(&'a MigrationFile),
    Applied(&'a AppliedMigration),
}

#[derive(Debug, Clone, Serialize)]
pub struct AppliedMigration {
    pub version: String,
    pub name: String,
    pub duration_ms: u64,
    pub statements: usize,
    pub no_transaction: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct Planned {
    pub version: String,
    pub name: String,
    pub statements: usize,
    pub no_transaction: bool,
}

/// Called after each migration is applied (the rollback check records schemas with it).
pub type AfterEach<'a> = dyn FnMut(&mut Client, &MigrationFile) -> Result<()> + 'a;

#[derive(Default)]
pub struct RunOptions<'a> {
    pub dry_run: bool,
    /// Stop after this version.
    pub to: Option<String>,
    pub allow_out_of_order: bool,
    /// Re-run each migration on top of itself and collect the failures (`migrate --local`).
    pub idempotency_check: bool,
    /// Versions the idempotency check leaves out (baseline, `-- dbsage:not-idempotent`).
    pub idempotency_exempt: Vec<String>,
    pub after_each: Option<Box<AfterEach<'a>>>,
    /// Gate overrides `(event, reason)` to record in the audit log before anything runs.
    pub audit: Vec<(String, String)>,
    /// `details` for some of those events, by event name (`lint_skipped`: which files).
    pub audit_details: BTreeMap<String, serde_json::Value>,
}

#[derive(Debug, Default)]
pub struct RunOutcome {
    pub applied: Vec<AppliedMigration>,
    /// For `--dry-run`: what would run.
    pub planned: Vec<Planned>,
    /// Migrations that failed when applied a second time.
    pub idempotency_failures: Vec<Box<MigrationError>>,
}

/// Applies the pending migrations of `files` to the database behind `client`.
pub fn run(
    client: &mut Client,
    project: &Project,
    files: &[MigrationFile],
    options: &mut RunOptions,
    progress: &mut dyn FnMut(Progress),
) -> Result<RunOutcome> {
    let table = project.history_table();
    let timeouts = Timeouts::from_project(project);
    if let Some(to) = &options.to {
        if !files.iter().any(|f| &f.version == to) {
            return Err(Error::Config {
                message: format!("--to {to}: no migration has that version"),
                hint: "use a version from `dbsage status`".into(),
            });
        }
    }
    // Detect a dropped client quickly, so its advisory lock and transaction go away.
    let _ = client.batch_execute("SET client_connection_check_interval = '1s'");
    if options.dry_run {
        let applied = history::read(client, &table)?;
        return plan(files, &applied, options).map(|(planned, _)| RunOutcome {
            planned,
            ..Default::default()
        });
    }
    history::acquire_lock(client, &table, timeouts.lock_wait, |h| {
        progress(Progress::WaitingForLock(h))
    })?;
    let result = run_locked(client, project, &table, &timeouts, files, options, progress);
    history::release_lock(client, &table);
    result
}

/// A pending migration with its parsed statements.
type Pending<'f> = (&'f MigrationFile, ParsedSql);

fn plan<'f>(
    files: &'f [MigrationFile],
    applied: &[AppliedRow],
    options: &RunOptions,
) -> Result<(Vec<Planned>, Vec<Pending<'f>>)> {
    let entries = status_entries(files, applied);
    check_consistency(&entries, options.allow_out_of_order)?;
    let mut pending = Vec::new();
    let mut planned = Vec::new();
    for f in files {
        if applied.iter().any(|a| a.version == f.version) {
            continue;
        }
        if options
            .to
            .as_ref()
            .is_some_and(|to| compare_versions(&f.version, to).is_gt())
        {
            break;
        }
        if options.dry_run {
            planned.push(plan_without_trees(f)?);
            continue;
        }
        // Every pending file is parsed before anything runs: a syntax error in the third file
        // must not leave the first two applied.
        let parsed = parse_migration(&f.path, &f.text)?;
        check_transaction_control(f, &parsed)?;
        pending.push((f, parsed));
    }
    planned.extend(pending.iter().map(|(f, p)| Planned {
        version: f.version.clone(),
        name: f.name.clone(),
        statements: p.statements.len(),
        no_transaction: f.no_transaction(),
    }));
    Ok((planned, pending))
}

/// The plan of one file for `--dry-run`, parsing a statement at a time and keeping no tree:
/// bounded memory for a 50 MB migration. Errors are located by the full parse.
fn plan_without_trees(f: &MigrationFile) -> Result<Planned> {
    let mut statements = 0;
    let mut transaction_control = false;
    let scanned = dbsage_sql::for_each_statement(&f.text, |s| {
        statements += 1;
        transaction_control |= matches!(s.node, NodeEnum::TransactionStmt(_));
    });
    if scanned.is_err() || (transaction_control && !f.no_transaction()) {
        let parsed = parse_migration(&f.path, &f.text)?;
        check_transaction_control(f, &parsed)?;
        statements = parsed.statements.len();
    }
    Ok(Planned {
        version: f.version.clone(),
        name: f.name.clone(),
        statements,
        no_transaction: f.no_transaction(),
    })
}

fn run_locked(
    client: &mut Client,
    project: &Project,
    table: &HistoryTable,
    timeouts: &Timeouts,
    files: &[MigrationFile],
    options: &mut RunOptions,
    progress: &mut dyn FnMut(Progress),
) -> Result<RunOutcome> {
    history::ensure(client, table)?;
    adopt_history(client, project, table, files)?;
    for (event, reason) in &options.audit {
        let details = options.audit_details.get(event).cloned();
        history::record_event(client, table, None, None, event, Some(reason), details)?;
    }
    let applied_rows = history::read(client, table)?;
    let (_, pending) = plan(files, &applied_rows, options)?;
    let mut outcome = RunOutcome::default();
    let keep = KeepInStep::of(project);
    for (file, parsed) in pending {
        progress(Progress::Applying(file));
        let started = Instant::now();
        let idempotency_check =
            options.idempotency_check && !options.idempotency_exempt.contains(&file.version);
        let idempotency = if file.no_transaction() {
            apply_without_transaction(client, table, timeouts, file, &parsed, started, keep)?;
            // A file with its own BEGIN/COMMIT is not re-run: a failure inside its transaction
            // would leave the session aborted (`migrate --local` notes the skip).
            let own_transaction = parsed
                .statements
                .iter()
                .any(|s| matches!(s.node, NodeEnum::TransactionStmt(_)));
            if idempotency_check && !own_transaction {
                run_statements(client, &file.path, &file.text, &parsed).err()
            } else {
                None
            }
        } else {
            apply_in_transaction(
                client,
                table,
                timeouts,
                file,
                &parsed,
                started,
                idempotency_check,
                keep,
            )?
        };
        if let Some(failure) = idempotency {
            outcome.idempotency_failures.push(failure);
        }
        let applied = AppliedMigration {
            version: file.version.clone(),
            name: file.name.clone(),
            duration_ms: started.elapsed().as_millis() as u64,
            statements: parsed.statements.len(),
            no_transaction: file.no_transaction(),
        };
        progress(Progress::Applied(&applied));
        outcome.applied.push(applied);
        if let Some(after) = options.after_each.as_mut() {
            after(client, file)?;
        }
    }
    Ok(outcome)
}

/// Parses a migration file, turning a syntax error into a located 42601 error.
pub fn parse_migration(path: &Path, text: &str) -> Result<ParsedSql> {
    dbsage_sql::parse(text).map_err(|e| {
        let offset = e.offset.unwrap_or(0);
        let lc = line_col(text, offset);
        Error::Migration(Box::new(MigrationError {
            file: path.to_path_buf(),
            line: lc.line,
            column: lc.column,
            sqlstate: "42601".into(),
            message: e.message.clone(),
            detail: None,
            server_hint: None,
            dbsage_hint: hint_for_sqlstate("42601").map(str::to_string),
            offset,
            statement: offset..offset,
            source_text: text.to_string(),
        }))
    })
}

/// BEGIN/COMMIT inside a file dbsage wraps in a transaction would break "applied if and only
/// if recorded".
fn check_transaction_control(file: &MigrationFile, parsed: &ParsedSql) -> Result<()> {
    if file.no_transaction() {
        return Ok(());
    }
    for stmt in &parsed.statements {
        if matches!(stmt.node, NodeEnum::TransactionStmt(_)) {
            let lc = line_col(&file.text, stmt.code_start);
            return Err(Error::Migration(Box::new(MigrationError {
                file: file.path.clone(),
                line: lc.line,
                column: lc.column,
                sqlstate: "25000".into(),
                message: "transaction control statement in a migration that dbsage runs in a transaction".into(),
                detail: None,
                server_hint: None,
                dbsage_hint: Some("remove BEGIN/COMMIT: dbsage wraps each migration in one transaction with its history row. For statements that cannot run in a transaction, start the file with `-- dbsage:no-transaction`".into()),
                offset: stmt.code_start,
                statement: stmt.range.clone(),
                source_text: file.text.clone(),
            })));
        }
    }
    Ok(())
}

/// Sets the migration timeouts for the transaction (`local`) or the session.
pub(crate) fn set_timeouts(
    client: &mut impl GenericClient,
    timeouts: &Timeouts,
    local: bool,
) -> Result<()> {
    client
        .execute(
            "select set_config('lock_timeout', $1, $3), set_config('statement_timeout', $2, $3)",
            &[&timeouts.lock_timeout, &timeouts.statement_timeout, &local],
        )
        .map(|_| ())
        .map_err(|e| Error::db("setting timeouts", e))
}

#[allow(clippy::too_many_arguments)]
fn apply_in_transaction(
    client: &mut Client,
    table: &HistoryTable,
    timeouts: &Timeouts,
    file: &MigrationFile,
    parsed: &ParsedSql,
    started: Instant,
    idempotency_check: bool,
    keep: KeepInStep,
) -> Result<Option<Box<MigrationError>>> {
    let mut tx = client
        .transaction()
        .map_err(|e| Error::db("starting a transaction", e))?;
    set_timeouts(&mut tx, timeouts, true)?;
    if let Err(failure) = run_statements(&mut tx, &file.path, &file.text, parsed) {
        drop(tx); // rolls back: nothing of the failed migration stays
        return Err(enrich(client, failure));
    }
    let idempotency = if idempotency_check {
        let mut sp = tx
            .savepoint("dbsage_idempotency")
            .map_err(|e| Error::db("savepoint", e))?;
        let result = run_statements(&mut sp, &file.path, &file.text, parsed).err();
        sp.rollback()
            .map_err(|e| Error::db("rolling back the idempotency check", e))?;
        result
    } else {
        None
    };
    record_applied(&mut tx, table, file, parsed, started, keep)?;
    tx.commit()
        .map_err(|e| Error::db(format!("committing {}", file.label()), e))?;
    Ok(idempotency)
}

fn apply_without_transaction(
    client: &mut Client,
    table: &HistoryTable,
    timeouts: &Timeouts,
    file: &MigrationFile,
    parsed: &ParsedSql,
    started: Instant,
    keep: KeepInStep,
) -> Result<()> {
    set_timeouts(client, timeouts, false)?;
    let result = crate::partial::run_no_transaction(
        client,
        table,
        &crate::partial::NoTransactionFile {
            version: &file.version,
            name: &file.name,
            path: &file.path,
            text: &file.text,
            parsed,
            direction: crate::partial::Direction::Up,
        },
    );
    let _ = client.batch_execute("RESET lock_timeout; RESET statement_timeout");
    let invalid = invalid_indexes_of(client, parsed)?;
    if let Err(Error::Migration(mut failure)) = result {
        let mut hint = failure.dbsage_hint.take().unwrap_or_default();
        for index in &invalid {
            hint.push_str(&format!(
                "\nthe failure left the INVALID index {index}; remove it before retrying: DROP INDEX CONCURRENTLY IF EXISTS {index};"
            ));
        }
        failure.dbsage_hint = Some(hint.trim().to_string());
        return Err(enrich(client, failure));
    }
    result?;
    if let Some(index) = invalid.first() {
        history::record_event(
            client,
            table,
            Some(&file.version),
            Some(&file.name),
            "partial",
            Some(&format!("index {index} is INVALID after the migration")),
            Some(serde_json::json!({
                "direction": crate::partial::Direction::Up,
                "statements_done": parsed.statements.len(),
                "statements_total": parsed.statements.len(),
            })),
        )?;
        return Err(Error::Failed {
            message: format!(
                "{}: index {index} is INVALID after the migration",
                file.label()
            ),
            hint: format!(
                "drop it with DROP INDEX CONCURRENTLY IF EXISTS {index}; and run migrate again"
            ),
        });
    }
    let mut tx = client
        .transaction()
        .map_err(|e| Error::db("starting a transaction", e))?;
    record_applied(&mut tx, table, file, parsed, started, keep)?;
    tx.commit()
        .map_err(|e| Error::db(format!("recording {}", file.label()), e))
}

/// The other tools' history tables written beside dbsage's, so a team can switch back.
#[derive(Debug, Clone, Copy)]
pub(crate) struct KeepInStep {
    /// `supabase_migrations.schema_migrations` (any Supabase project).
    supabase: bool,
    /// An adopted tool's own table (Prisma, Drizzle, diesel, golang-migrate).
    tool: Option<dbsage_supabase::Layout>,
}

impl KeepInStep {
    pub(crate) fn of(project: &Project) -> KeepInStep {
        KeepInStep {
            supabase: project.is_supabase(),
            tool: project
                .layout()
                .filter(|l| dbsage_supabase::keeps_in_step(*l)),
        }
    }
}

fn record_applied(
    tx: &mut postgres::Transaction,
    table: &HistoryTable,
    file: &MigrationFile,
    parsed: &ParsedSql,
    started: Instant,
    keep: KeepInStep,
) -> Result<()> {
    let duration = started.elapsed().as_millis() as i64;
    record_in_other_tools(tx, file, parsed, keep)?;
    tx.execute(
        &format!(
            "insert into {} (version, name, checksum, duration_ms, down_checksum) values ($1, $2, $3, $4, $5)",
            table.qualified()
        ),
        &[&file.version, &file.name, &file.checksum, &duration, &file.down_checksum()],
    )
    .map_err(|e| Error::db(format!("recording {}", file.label()), e))?;
    history::record_event(
        tx,
        table,
        Some(&file.version),
        Some(&file.name),
        "applied",
        None,
        Some(serde_json::json!({ "checksum": file.checksum, "duration_ms": duration })),
    )
}

/// The rows the other tools kept in step would write for `file` (part of [`record_applied`];
/// `repair --mark-applied` writes them too).
pub(crate) fn record_in_other_tools(
    tx: &mut postgres::Transaction,
    file: &MigrationFile,
    parsed: &ParsedSql,
    keep: KeepInStep,
) -> Result<()> {
    if let Some(tool) = keep.tool {
        let applied = dbsage_supabase::AppliedFile {
            version: &file.version,
            name: &file.name,
            text: &file.text,
        };
        dbsage_supabase::record_tool_history(tx, tool, applied)
            .map_err(|e| Error::db(format!("recording {} in {tool}'s history", file.label()), e))?;
    }
    if keep.supabase {
        // Keeps the Supabase CLI and dashboard in agreement with dbsage.
        let statements: Vec<String> = parsed
            .statements
            .iter()
            .map(|s| file.text[s.code_start..s.range.end].to_string())
            .collect();
        dbsage_supabase::record_supabase_history(tx, &file.version, &file.name, &statements)
            .map_err(|e| Error::db("recording supabase_migrations.schema_migrations", e))?;
    }
    Ok(())
}

/// Runs each statement as sent text, so server error positions map back into the file.
pub fn run_statements(
    client: &mut impl GenericClient,
    path: &Path,
    text: &str,
    parsed: &ParsedSql,
) -> std::result::Result<(), Box<MigrationError>> {
    for stmt in &parsed.statements {
        if let Err(e) = client.batch_execute(stmt.text(text)) {
            return Err(Box::new(locate_error(path, text, stmt, &e)));
        }
    }
    Ok(())
}

/// Places a server error in the file: the server's position is relative to the statement text.
pub fn locate_error(
    path: &Path,
    text: &str,
    stmt: &Statement,
    e: &postgres::Error,
) -> MigrationError {
    let (sqlstate, message, detail, server_hint, position) = match e.as_db_error() {
        Some(db) => (
            db.code().code().to_string(),
            db.message().to_string(),
            db.detail().map(str::to_string),
            db.hint().map(str::to_string),
            match db.position() {
                Some(ErrorPosition::Original(p)) => Some(*p as usize),
                _ => None,
            },
        ),
        None => (
            "08006".to_string(),
            format!("connection error: {}", dbsage_pgerror::cause_chain(e)),
            None,
            None,
            None,
        ),
    };
    let offset = match position {
        Some(p) => stmt.range.start + dbsage_sql::char_pos_to_byte(stmt.text(text), p),
        None => stmt.code_start,
    };
    let lc = line_col(text, offset);
    MigrationError {
        file: path.to_path_buf(),
        line: lc.line,
        column: lc.column,
        dbsage_hint: hint_for_sqlstate(&sqlstate).map(str::to_string),
        sqlstate,
        message,
        detail,
        server_hint,
        offset,
        statement: stmt.range.clone(),
        source_text: text.to_string(),
    }
}

/// Adds what only a second look at the server can tell: who holds the lock we timed out on.
fn enrich(client: &mut Client, mut failure: Box<MigrationError>) -> Error {
    crate::missing_extension::explain(client, &mut failure);
    if failure.sqlstate == "55P03" {
        let stmt_text = failure.source_text[failure.statement.clone()].to_string();
        let tables = relations_named(&stmt_text);
        if let Ok(rows) = client.query(
            "select l.relation::regclass::text, a.pid, coalesce(nullif(a.application_name, ''), '?'),
                    coalesce(a.usename::text, '?'), coalesce(a.state, '?'), l.mode
             from pg_locks l join pg_stat_activity a on a.pid = l.pid
             where l.granted and l.locktype = 'relation' and l.pid <> pg_backend_pid()
               and l.relation in (select to_regclass(t) from unnest($1::text[]) t)
             order by 1, 2",
            &[&tables],
        ) {
            let holders: Vec<String> = rows
                .iter()
                .map(|r| {
                    format!(
                        "{} is locked by pid {} (application_name '{}', user '{}', state '{}', holding {})",
                        r.get::<_, String>(0),
                        r.get::<_, i32>(1),
                        r.get::<_, String>(2),
                        r.get::<_, String>(3),
                        r.get::<_, String>(4),
                        r.get::<_, String>(5)
                    )
                })
                .collect();
            if !holders.is_empty() {
                let base = failure.dbsage_hint.take().unwrap_or_default();
                failure.dbsage_hint = Some(format!("{}\n{base}", holders.join("\n")));
            }
        }
    }
    Error::Migration(failure)
}

/// The relations a statement names. A DO block names none itself, so the SQL statements in
/// its body are read with PL/pgSQL's own parser (statements built at run time for EXECUTE
/// stay unknown).
pub fn relations_named(stmt_text: &str) -> Vec<String> {
    let Ok(parsed) = dbsage_sql::pg_query::parse(stmt_text, 0) else {
        return Vec::new();
    };
    let mut tables = parsed.tables();
    let do_body = parsed.protobuf.stmts.iter().find_map(|raw| {
        let Some(NodeEnum::DoStmt(block)) = raw.stmt.as_ref().and_then(|s| s.node.as_ref()) else {
            return None;
        };
        block.args.iter().find_map(|arg| match arg.node.as_ref() {
            Some(NodeEnum::DefElem(def)) if def.defname == "as" => {
                match def.arg.as_deref().and_then(|a| a.node.as_ref()) {
                    Some(NodeEnum::String(body)) => Some(body.sval.clone()),
                    _ => None,
                }
            }
            _ => None,
        })
    });
    if let Some(body) = do_body {
        let wrapper = format!(
            "create function dbsage_do_block() returns void language plpgsql as $dbsage_do${body}$dbsage_do$"
        );
        if let Ok(tree) = dbsage_sql::pg_query::parse_plpgsql(&wrapper) {
            let mut queries = Vec::new();
            collect_queries(&tree, &mut queries);
            for query in queries {
                if let Ok(inner) = dbsage_sql::pg_query::parse(&query, 0) {
                    tables.extend(inner.tables());
                }
            }
        }
    }
    tables
}

/// Every `"query"` string of a PL/pgSQL parse tree (the SQL of each statement and expression).
fn collect_queries(value: &serde_json::Value, out: &mut Vec<String>) {
    match value {
        serde_json::Value::Object(map) => {
            for (key, child) in map {
                match child {
                    serde_json::Value::String(q) if key == "query" => out.push(q.clone()),
                    _ => collect_queries(child, out),
                }
            }
        }
        serde_json::Value::Array(items) => items.iter().for_each(|i| collect_queries(i, out)),
        _ => {}
    }
}

/// Indexes created by this file's CREATE INDEX statements that are INVALID in the database.
fn invalid_indexes_of(client: &mut Client, parsed: &ParsedSql) -> Result<Vec<String>> {
    let names: Vec<String> = parsed
        .statements
        .iter()
        .filter_map(|s| match &s.node {
            NodeEnum::IndexStmt(i) if !i.idxname.is_empty() => Some(i.idxname.clone()),
            _ => None,
        })
        .collect();
    if names.is_empty() {
        return Ok(Vec::new());
    }
    let rows = client
        .query(
            "select format('%I.%I', n.nspname, c.relname)
             from pg_index i join pg_class c on c.oid = i.indexrelid
             join pg_namespace n on n.oid = c.relnamespace
             where not i.indisvalid and c.relname = any($1)",
            &[&names],
        )
        .map_err(|e| Error::db("checking for invalid indexes", e))?;
    Ok(rows.iter().map(|r| r.get(0)).collect())
}

/// Status of one environment.
pub fn status(
    client: &mut Client,
    project: &Project,
    files: &[MigrationFile],
) -> Result<Vec<StatusEntry>> {
    let mut applied = history::read(client, &project.history_table())?;
    if applied.is_empty() {
        // Before dbsage's first migrate, the other tool's history says what is applied.
        applied = crate::adopted::rows_to_import(client, project, files)?;
    }
    let mut entries = status_entries(files, &applied);
    for run in crate::partial::unfinished_runs(client, &project.history_table())? {
        if let Some(e) = entries.iter_mut().find(|e| e.version == run.version) {
            e.state = State::Partial;
            e.partial = Some(run);
        }
    }
    Ok(entries)
}

/// On the first dbsage run against a database another tool migrated, marks the migrations that
/// tool recorded as applied, so nothing is applied twice. Audited as `adopted`.
fn adopt_history(
    client: &mut Client,
    project: &Project,
    table: &HistoryTable,
    files: &[MigrationFile],
) -> Result<()> {
    let Some(tool) = crate::adopted::tool_of(project) else {
        return Ok(());
    };
    if !history::read(client, table)?.is_empty() {
        return Ok(());
    }
    let imported = crate::adopted::import(client, tool)?;
    if imported.is_empty() {
        return Ok(());
    }
    let mut tx = client
        .transaction()
        .map_err(|e| Error::db("starting a transaction", e))?;
    let mut adopted = 0;
    for file in files {
        if !crate::adopted::recorded(&imported, &file.version) {
            continue;
        }
        tx.execute(
            &format!(
                "insert into {} (version, name, checksum, applied_by, duration_ms) values ($1, $2, $3, $4, 0) on conflict do nothing",
                table.qualified()
            ),
            &[&file.version, &file.name, &file.checksum, &format!("adopted from {tool}")],
        )
        .map_err(|e| Error::db("importing history", e))?;
        adopted += 1;
    }
    // Versions the other tool recorded with no file on disk are kept, so `status` reports them
    // as missing instead of silently forgetting them.
    for v in &imported {
        if v.baseline
            || files
                .iter()
                .any(|f| dbsage_supabase::same_version(&v.version, &f.version))
        {
            continue;
        }
        let name = v
            .name
            .clone()
            .unwrap_or_else(|| format!("(recorded by {tool})"));
        tx.execute(
            &format!(
                "insert into {} (version, name, checksum, applied_by, duration_ms) values ($1, $2, '', $3, 0) on conflict do nothing",
                table.qualified()
            ),
            &[&v.version, &name, &format!("adopted from {tool}")],
        )
        .map_err(|e| Error::db("importing history", e))?;
    }
    history::record_event(
        &mut tx,
        table,
        None,
        None,
        "adopted",
        Some(&format!(
            "imported {} from {tool}'s history",
            crate::wording::plural(adopted, "applied migration")
        )),
        None,
    )?;
    tx.commit()
        .map_err(|e| Error::db("committing the history import", e))
}
