//! `redundant-index`: a btree index whose columns are a leading prefix of another valid btree
//! index on the same table, with the same operator classes, collations, sort options and
//! predicate, and that is not unique (a unique index enforces something the longer one does
//! not) and backs no constraint.
//!
//! Why: any query the short index serves, the long one serves too, nearly as fast; the short
//! one only adds write cost. Bad: `(customer_id)` next to `(customer_id, created_at)`. Good:
//! the composite alone. Not judged: expression indexes, indexes with INCLUDE columns. Fix:
//! `DROP INDEX CONCURRENTLY` (in `--write`).

use postgres::Client;
use serde_json::json;

use super::index_facts::{by_table, IndexFacts};
use super::{bytes, finding, Check, Context, Finding, Severity};
use crate::TuneError;

pub(crate) const CHECK: Check = Check {
    id: "redundant-index",
    run,
};

/// `short` is served by `long`: same table and predicate, and its key is a strict prefix.
fn covered_by(short: &IndexFacts, long: &IndexFacts) -> bool {
    let n = short.key_count;
    short.table_oid == long.table_oid
        && short.method == "btree"
        && long.method == "btree"
        && long.valid
        && short.expressions.is_empty()
        && long.expressions.is_empty()
        && short.columns.len() == n
        && n < long.key_count
        && short.predicate == long.predicate
        && short.columns[..n] == long.columns[..n]
        && short.opclasses[..n] == long.opclasses[..n]
        && short.collations[..n] == long.collations[..n]
        && short.options[..n] == long.options[..n]
}

fn run(client: &mut Client, ctx: &mut Context) -> Result<Vec<Finding>, TuneError> {
    let mut findings = Vec::new();
    for table in by_table(&ctx.indexes) {
        findings.extend(redundant(client, &table)?);
    }
    Ok(findings)
}

fn redundant(client: &mut Client, table: &[&IndexFacts]) -> Result<Vec<Finding>, TuneError> {
    let mut findings = Vec::new();
    for short in table.iter().filter(|i| i.valid && !i.enforces_something()) {
        // The shortest covering index: the closest to what the short one was made for.
        let Some(long) = table
            .iter()
            .filter(|l| l.oid != short.oid && covered_by(short, l))
            .min_by_key(|l| (l.key_count, l.oid))
        else {
            continue;
        };
        findings.push(finding(
            CHECK.id,
            Severity::Warning,
            format!("index {}", short.name),
            format!(
                "{} on {} is a prefix of {}, which serves the same queries ({} wasted, maintained on every write)",
                short.name,
                short.table,
                long.name,
                bytes(short.size_bytes)
            ),
            json!({
                "covered_by": long.name,
                "definition": short.definition(client)?,
                "covering_definition": long.definition(client)?,
                "index_bytes": short.size_bytes,
                "scans": short.scans,
            }),
            Some(short.drop_sql()),
        ));
    }
    Ok(findings)
}
