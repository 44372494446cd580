//! A schema file applied on a throwaway database: statements sent as simple-query batches (one
//! round trip per chunk instead of one per statement), a chunk that fails replayed a statement
//! at a time to say which statement failed, at file:line:column.

use std::path::Path;
use std::sync::Mutex;

use dbsage_sql::NodeEnum;
use postgres::Client;

/// Statements per batch. Each batch is one implicit transaction: a few hundred keeps its
/// locks well inside `max_locks_per_transaction` even when every statement creates a table.
const STATEMENTS_PER_BATCH: usize = 256;

/// Roles belong to the cluster, not the database: both sides of a diff built on one cluster
/// may create the same role. Role statements run one at a time under this lock, and a role
/// the other side already created is not an error.
static ROLE_STATEMENTS: Mutex<()> = Mutex::new(());

/// SQLSTATE `duplicate_object`, what `CREATE ROLE` says about an existing role.
const DUPLICATE_OBJECT: &str = "42710";

pub(crate) fn apply(client: &mut Client, sql: &str, path: &Path) -> Result<(), String> {
    let mut statements = Vec::new();
    let mut own_transactions = false;
    dbsage_sql::for_each_statement(sql, |statement| {
        let creates_role = matches!(statement.node, NodeEnum::CreateRoleStmt(_));
        own_transactions |= matches!(statement.node, NodeEnum::TransactionStmt(_));
        statements.push((statement.code_start, statement.range.end, creates_role));
    })
    .map_err(|e| located(sql, path, e.offset.unwrap_or(0), &e.message))?;
    // A file with BEGIN/COMMIT of its own commits inside a batch: a failed batch could not be
    // replayed statement by statement, so such a file runs one statement at a time.
    let per_batch = if own_transactions {
        1
    } else {
        STATEMENTS_PER_BATCH
    };
    let mut batch: Vec<(usize, usize)> = Vec::new();
    for (start, end, creates_role) in statements {
        if creates_role {
            run_batch(client, sql, path, &batch)?;
            batch.clear();
            let _serialised = ROLE_STATEMENTS.lock().unwrap_or_else(|e| e.into_inner());
            if let Err(e) = client.batch_execute(&sql[start..end]) {
                if e.code().map(|c| c.code()) != Some(DUPLICATE_OBJECT) {
                    return Err(failed_at(sql, path, start, &e));
                }
            }
            continue;
        }
        batch.push((start, end));
        if batch.len() == per_batch {
            run_batch(client, sql, path, &batch)?;
            batch.clear();
        }
    }
    run_batch(client, sql, path, &batch)
}

/// One round trip for the whole batch; on an error (the batch's implicit transaction is rolled
/// back) the statements again one by one, which finds the failing one, or runs those that
/// only refuse to run in a batch (`CREATE INDEX CONCURRENTLY`, ...).
fn run_batch(
    client: &mut Client,
    sql: &str,
    path: &Path,
    batch: &[(usize, usize)],
) -> Result<(), String> {
    let (Some(first), Some(last)) = (batch.first(), batch.last()) else {
        return Ok(());
    };
    if client.batch_execute(&sql[first.0..last.1]).is_ok() {
        return Ok(());
    }
    for &(start, end) in batch {
        client
            .batch_execute(&sql[start..end])
            .map_err(|e| failed_at(sql, path, start, &e))?;
    }
    Ok(())
}

fn failed_at(sql: &str, path: &Path, start: usize, e: &postgres::Error) -> String {
    located(
        sql,
        path,
        start,
        &format!(
            "does not apply on an empty database: {}",
            dbsage_pgerror::describe(e)
        ),
    )
}

fn located(sql: &str, path: &Path, offset: usize, message: &str) -> String {
    let at = dbsage_sql::line_col(sql, offset);
    format!("{}:{}:{}: {message}", path.display(), at.line, at.column)
}
