//! The proof: the plan applied on a copy of the source, the result read back and compared
//! with the target. Whatever is left is "not handled" — reported, never silently dropped.

use dbsage_catalog::{diff, Catalog, Difference, ReadOptions};
use serde::Serialize;

use crate::builder::Plan;

/// A statement PostgreSQL refused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ApplyFailure {
    /// Index in [`Plan::statements`].
    pub statement: usize,
    pub sql: String,
    /// The server's words (SQLSTATE, message, detail, hint).
    pub error: String,
}

/// How far an apply went.
pub type Applied = Result<(), ApplyFailure>;

/// Runs the plan: the transactional part in one transaction, then the no-transaction part one
/// statement at a time (as `dbsage migrate` runs the two files).
pub fn apply(client: &mut postgres::Client, plan: &Plan) -> Applied {
    let transactional: Vec<usize> = (0..plan.statements.len())
        .filter(|&i| plan.statements[i].transactional)
        .collect();
    apply_transaction(client, plan, &transactional)?;
    apply_one_by_one(client, plan, |s| !s.transactional)
}

/// Like [`apply`], committing every few hundred statements: how a schema is rebuilt from
/// nothing, where one transaction for thousands of tables would run out of lock slots.
pub(crate) fn apply_in_chunks(client: &mut postgres::Client, plan: &Plan) -> Applied {
    const STATEMENTS_PER_TRANSACTION: usize = 256;
    let transactional: Vec<usize> = (0..plan.statements.len())
        .filter(|&i| plan.statements[i].transactional)
        .collect();
    // The prelude's settings are session settings: they hold for every chunk.
    for chunk in transactional.chunks(STATEMENTS_PER_TRANSACTION) {
        apply_transaction(client, plan, chunk)?;
    }
    apply_one_by_one(client, plan, |s| !s.transactional)
}

fn failure(plan: &Plan, index: usize, e: &postgres::Error) -> ApplyFailure {
    ApplyFailure {
        statement: index,
        sql: plan.statements[index].sql.clone(),
        error: dbsage_pgerror::describe(e),
    }
}

/// The statements `indexes` in one transaction, sent as one batch (one round trip); when the
/// batch fails, once more one statement at a time, to say which one PostgreSQL refused.
fn apply_transaction(client: &mut postgres::Client, plan: &Plan, indexes: &[usize]) -> Applied {
    let Some(&first) = indexes.first() else {
        return Ok(());
    };
    let batch: String = indexes
        .iter()
        .map(|&i| plan.statements[i].sql.as_str())
        .collect::<Vec<_>>()
        .join("\n");
    let mut transaction = client.transaction().map_err(|e| failure(plan, first, &e))?;
    if transaction.batch_execute(&batch).is_ok() {
        return transaction.commit().map_err(|e| failure(plan, first, &e));
    }
    drop(transaction);
    let mut transaction = client.transaction().map_err(|e| failure(plan, first, &e))?;
    for &index in indexes {
        transaction
            .batch_execute(&plan.statements[index].sql)
            .map_err(|e| failure(plan, index, &e))?;
    }
    transaction.commit().map_err(|e| failure(plan, first, &e))
}

fn apply_one_by_one(
    client: &mut postgres::Client,
    plan: &Plan,
    runs: impl Fn(&crate::Statement) -> bool,
) -> Applied {
    for (index, statement) in plan.statements.iter().enumerate() {
        if runs(statement) {
            client
                .batch_execute(&statement.sql)
                .map_err(|e| failure(plan, index, &e))?;
        }
    }
    Ok(())
}

/// What the proof found.
#[derive(Debug, Clone, Serialize)]
pub struct Proof {
    /// The statement that failed, if one did (the rest of the plan did not run).
    pub failure: Option<ApplyFailure>,
    /// Differences between the result and the target: what the plan does not handle.
    pub not_handled: Vec<Difference>,
}

impl Proof {
    /// True when the plan applied and the result matches the target.
    pub fn is_clean(&self) -> bool {
        self.failure.is_none() && self.not_handled.is_empty()
    }
}

/// Applies `plan` on `copy_of_source` (a throwaway database with the source schema) and
/// compares the result with `target`.
pub fn prove(
    copy_of_source: &mut postgres::Client,
    plan: &Plan,
    target: &Catalog,
    options: &ReadOptions,
) -> Result<Proof, postgres::Error> {
    let failure = apply(copy_of_source, plan).err();
    let result = Catalog::read(copy_of_source, options)?;
    Ok(Proof {
        failure,
        not_handled: diff(&result, target),
    })
}
