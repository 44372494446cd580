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
    let failure = |index: usize, e: postgres::Error| ApplyFailure {
        statement: index,
        sql: plan.statements[index].sql.clone(),
        error: dbsage_pgerror::describe(&e),
    };
    let mut transaction = client.transaction().map_err(|e| failure(0, e))?;
    for (index, statement) in plan.statements.iter().enumerate() {
        if statement.transactional {
            transaction
                .batch_execute(&statement.sql)
                .map_err(|e| failure(index, e))?;
        }
    }
    transaction.commit().map_err(|e| failure(0, e))?;
    for (index, statement) in plan.statements.iter().enumerate() {
        if !statement.transactional {
            client
                .batch_execute(&statement.sql)
                .map_err(|e| failure(index, e))?;
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
