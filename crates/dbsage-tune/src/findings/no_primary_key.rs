//! `no-primary-key`: a table (not a partition: its parent carries the key) without a primary
//! key.
//!
//! Why: rows cannot be addressed reliably (duplicates creep in), logical replication cannot
//! replicate its updates and deletes, and most tools (ORMs, admin UIs, PostgREST's updates)
//! need one. Bad: `create table events (name text, at timestamptz)`. Good: `id bigint
//! generated always as identity primary key`, or a natural key. Fix: a template to complete
//! (adding a key rewrites or scans the table, and which key is a decision).

use postgres::Client;
use serde_json::json;

use super::{finding, Check, Context, Finding, Severity};
use crate::TuneError;

pub(crate) const CHECK: Check = Check {
    id: "no-primary-key",
    run,
};

fn run(_client: &mut Client, ctx: &mut Context) -> Result<Vec<Finding>, TuneError> {
    Ok(ctx
        .tables
        .iter()
        .filter(|t| matches!(t.kind.as_str(), "r" | "p") && !t.is_partition && !t.has_primary_key)
        .map(|t| {
            finding(
                CHECK.id,
                Severity::Warning,
                format!("table {}", t.name),
                format!(
                    "{} has no primary key: rows cannot be addressed reliably and logical replication cannot carry its updates and deletes",
                    t.name
                ),
                json!({ "rows": t.rows().max(0.0) as i64 }),
                Some(format!(
                    "-- choose the key; a new identity column rewrites the table:\nALTER TABLE {} ADD COLUMN id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY;",
                    t.name
                )),
            )
        })
        .collect())
}
