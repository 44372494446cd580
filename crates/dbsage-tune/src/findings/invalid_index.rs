//! `invalid-index`: an index left invalid by a failed `CREATE INDEX CONCURRENTLY` or
//! `REINDEX CONCURRENTLY` (and not being built right now).
//!
//! Why: the planner never uses it, yet every write still maintains it; an invalid unique index
//! enforces nothing. Bad: a concurrent unique index build that hit a duplicate. Good: none.
//! Fix: `REINDEX INDEX CONCURRENTLY` (after removing the duplicates for a unique one), or drop
//! it; `dbsage maintain` reindexes them. Not in `--write`: which of the two is a decision.

use postgres::Client;
use serde_json::json;

use super::{bytes, finding, Check, Context, Finding, Severity};
use crate::TuneError;

pub(crate) const CHECK: Check = Check {
    id: "invalid-index",
    run,
};

fn run(client: &mut Client, ctx: &mut Context) -> Result<Vec<Finding>, TuneError> {
    ctx
        .indexes
        .iter()
        .filter(|i| !i.valid && !i.being_built)
        .map(|i| {
            let unique_note = if i.unique {
                " and, being unique, enforces nothing: remove the duplicate keys before rebuilding it"
            } else {
                ""
            };
            Ok(finding(
                CHECK.id,
                Severity::Error,
                format!("index {}", i.name),
                format!(
                    "{} on {} is invalid (a failed concurrent build): the planner ignores it, writes still maintain it ({}){unique_note}",
                    i.name,
                    i.table,
                    bytes(i.size_bytes)
                ),
                json!({
                    "definition": i.definition(client)?,
                    "unique": i.unique,
                    "index_bytes": i.size_bytes,
                }),
                Some(format!(
                    "REINDEX INDEX CONCURRENTLY {};\n-- or, if it is not wanted: {}",
                    i.name,
                    i.drop_sql()
                )),
            ))
        })
        .collect()
}
