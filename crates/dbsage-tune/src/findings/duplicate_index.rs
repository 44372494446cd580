//! `duplicate-index`: two valid indexes on the same table with the same method, columns,
//! operator classes, collations, sort options, expressions and predicate.
//!
//! Why: the second one serves no query the first does not, and doubles the write cost. Bad:
//! `create index on t (a)` twice under two names. Good: one. The one kept is the one that
//! enforces most (primary key, constraint, unique), then the oldest; a duplicate that backs a
//! constraint itself gets no automatic fix. Fix: `DROP INDEX CONCURRENTLY` (in `--write`).

use postgres::Client;
use serde_json::json;

use super::index_facts::{by_table, IndexFacts};
use super::{bytes, finding, Check, Context, Finding, Severity};
use crate::TuneError;

pub(crate) const CHECK: Check = Check {
    id: "duplicate-index",
    run,
};

/// Which of two identical indexes to keep: the one that enforces most, then the oldest.
fn keep_rank(i: &IndexFacts) -> (bool, bool, bool, i64) {
    (!i.primary, !i.backs_constraint, !i.unique, i.oid)
}

fn run(client: &mut Client, ctx: &mut Context) -> Result<Vec<Finding>, TuneError> {
    let mut findings = Vec::new();
    for table in by_table(&ctx.indexes) {
        let valid: Vec<&IndexFacts> = table.into_iter().filter(|i| i.valid).collect();
        findings.extend(duplicates(client, &valid)?);
    }
    Ok(findings)
}

fn duplicates(client: &mut Client, valid: &[&IndexFacts]) -> Result<Vec<Finding>, TuneError> {
    let mut findings = Vec::new();
    let mut seen = vec![false; valid.len()];
    for a in 0..valid.len() {
        if seen[a] {
            continue;
        }
        let mut group: Vec<&IndexFacts> = vec![valid[a]];
        for b in a + 1..valid.len() {
            if !seen[b] && valid[a].same_shape(valid[b]) {
                seen[b] = true;
                group.push(valid[b]);
            }
        }
        if group.len() < 2 {
            continue;
        }
        group.sort_by_key(|i| keep_rank(i));
        let kept = group[0];
        for extra in &group[1..] {
            // Two unique indexes guard the same thing; a non-unique copy of a unique index
            // guards nothing. A constraint's own index goes only with the constraint.
            let fix = (!extra.backs_constraint).then(|| extra.drop_sql());
            findings.push(finding(
                CHECK.id,
                Severity::Warning,
                format!("index {}", extra.name),
                format!(
                    "{} duplicates {} on {} ({} wasted, maintained on every write){}",
                    extra.name,
                    kept.name,
                    extra.table,
                    bytes(extra.size_bytes),
                    if extra.backs_constraint {
                        "; it backs a constraint: drop the constraint to drop it"
                    } else {
                        ""
                    }
                ),
                json!({
                    "duplicate_of": kept.name,
                    "definition": extra.definition(client)?,
                    "kept_definition": kept.definition(client)?,
                    "index_bytes": extra.size_bytes,
                    "scans": extra.scans,
                }),
                fix,
            ));
        }
    }
    Ok(findings)
}
