//! The planner's cost of a statement with each candidate index: hypothetical indexes (hypopg,
//! when created in the database: nothing is built) or real ones on the throwaway copy, each in
//! a transaction rolled back. Dexter's rule: a candidate must cut the plan cost by ≥ 50 %, and
//! a 2-column one by a further 50 % over the best single column.

use postgres::Client;
use serde::Serialize;

use super::candidates::Candidate;
use super::error::{db, Result};
use super::plan;

/// The fraction of the cost a winner must leave at most.
pub const REQUIRED_RATIO: f64 = 0.5;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum CostedWith {
    Hypopg,
    ThrowawayCopy,
}

/// Where hypopg is created in this database, if it is.
pub fn hypopg_schema(client: &mut Client) -> Result<Option<String>> {
    super::workload::extension_schema(client, "hypopg")
}

#[derive(Debug, Clone)]
pub struct Costed {
    pub candidate: Candidate,
    pub cost: f64,
}

/// The statement's plan cost now and with each candidate.
pub struct Costs {
    pub before: f64,
    pub with: Vec<Costed>,
}

/// The statement's generic plan cost as it is, and with each candidate.
pub fn cost(
    client: &mut Client,
    how: CostedWith,
    hypopg: Option<&str>,
    sql: &str,
    max_param: i32,
    candidates: &[Candidate],
) -> Result<Costs> {
    let version = plan::server_version(client)?;
    let before = plan::total_cost(&plan::generic_plan(client, sql, max_param, version)?);
    let mut with = Vec::new();
    for candidate in candidates {
        let cost = match (how, hypopg) {
            (CostedWith::Hypopg, Some(schema)) => {
                let schema = dbsage_sql::quote_ident(schema);
                let row = client
                    .query_one(
                        &format!("SELECT indexrelid FROM {schema}.hypopg_create_index($1)"),
                        &[&candidate.create_sql()],
                    )
                    .map_err(db("creating a hypothetical index"))?;
                let oid: u32 = row.get(0);
                let cost = plan::generic_plan(client, sql, max_param, version);
                client
                    .execute(&format!("SELECT {schema}.hypopg_drop_index($1)"), &[&oid])
                    .map_err(db("dropping a hypothetical index"))?;
                plan::total_cost(&cost?)
            }
            _ => {
                client
                    .batch_execute("BEGIN")
                    .map_err(db("opening a transaction on the throwaway copy"))?;
                let cost = client
                    .batch_execute(&candidate.create_sql())
                    .map_err(db(&format!("building {}", candidate.describe())))
                    .and_then(|()| plan::generic_plan(client, sql, max_param, version));
                client
                    .batch_execute("ROLLBACK")
                    .map_err(db("rolling back on the throwaway copy"))?;
                plan::total_cost(&cost?)
            }
        };
        with.push(Costed {
            candidate: candidate.clone(),
            cost,
        });
    }
    Ok(Costs { before, with })
}

/// The winner: the cheapest single-column (or partial) candidate at ≤ 50 % of the cost, replaced
/// by a 2-column one only when that halves the cost again.
pub fn winner(costs: &Costs) -> Option<&Costed> {
    let cheapest = |two: bool| {
        costs
            .with
            .iter()
            .filter(|c| (c.candidate.columns.len() == 2) == two)
            .min_by(|a, b| a.cost.total_cmp(&b.cost))
    };
    let single = cheapest(false).filter(|c| c.cost <= costs.before * REQUIRED_RATIO);
    let pair = cheapest(true);
    match (single, pair) {
        (Some(s), Some(p)) if p.cost <= s.cost * REQUIRED_RATIO => Some(p),
        (None, Some(p)) if p.cost <= costs.before * REQUIRED_RATIO * REQUIRED_RATIO => Some(p),
        (s, _) => s,
    }
}
