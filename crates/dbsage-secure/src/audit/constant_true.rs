//! Which policy clauses are constant true, decided by the server's planner rather than by
//! reading the text: `EXPLAIN select from t where (expr)` has no filter left when the planner's
//! constant folding reduced `expr` to true (`true`, `1 = 1`, `'a' = 'a'`, `true or …`,
//! `coalesce(null, true)`). Functions that depend on the request (`auth.uid()`,
//! `current_setting()`) are not folded, so real predicates always keep a filter. EXPLAIN
//! without ANALYZE runs nothing.

use std::collections::BTreeSet;

use dbsage_catalog::Catalog;

use crate::sqltext::qualified;

/// `(schema, table, policy, clause)` of every clause (`using` or `with check`) that the planner
/// reduces to true. An expression the server cannot plan (it would fail at run time too) is
/// not counted.
pub(crate) fn always_true_clauses(
    client: &mut postgres::Client,
    catalog: &Catalog,
) -> BTreeSet<(String, String, String, &'static str)> {
    let mut out = BTreeSet::new();
    for table in &catalog.tables {
        let name = qualified(&table.schema, &table.name);
        for policy in &table.policies {
            let clauses = [
                ("using", policy.using.as_deref()),
                ("with check", policy.with_check.as_deref()),
            ];
            for (clause, expr) in clauses {
                let Some(expr) = expr else { continue };
                if planner_says_true(client, &name, expr) {
                    out.insert((
                        table.schema.clone(),
                        table.name.clone(),
                        policy.name.clone(),
                        clause,
                    ));
                }
            }
        }
    }
    out
}

fn planner_says_true(client: &mut postgres::Client, table: &str, expr: &str) -> bool {
    let sql = format!("explain (costs off, format json) select from {table} where ({expr})");
    let Ok(messages) = client.simple_query(&sql) else {
        return false;
    };
    let plan: String = messages
        .iter()
        .filter_map(|m| match m {
            postgres::SimpleQueryMessage::Row(r) => r.get(0).map(str::to_string),
            _ => None,
        })
        .collect();
    let Ok(plan) = serde_json::from_str::<serde_json::Value>(&plan) else {
        return false;
    };
    !has_condition(&plan)
}

/// Whether any plan node still tests a condition.
fn has_condition(value: &serde_json::Value) -> bool {
    match value {
        serde_json::Value::Array(items) => items.iter().any(has_condition),
        serde_json::Value::Object(map) => map.iter().any(|(key, child)| {
            key.ends_with("Filter") || key.ends_with("Cond") || has_condition(child)
        }),
        _ => false,
    }
}
