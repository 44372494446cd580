//! `overlapping-table`: a new table that overlaps an existing one: a similar name, or 60 % or
//! more of its columns (name and type) already in one existing table.

use dbsage_catalog::{Catalog, Table};
use serde_json::json;

use super::{Check, Context, Doc, Raised};
use crate::change::{find_table, is_bookkeeping};

/// Share of the new table's columns already in one existing table that makes it a copy.
pub const COLUMN_SHARE: f64 = 0.6;
/// Fewer shared columns than this is coincidence (`name`, `email` are everywhere).
const MIN_SHARED: usize = 3;

pub const CHECK: Check = Check {
    doc: Doc {
        id: "overlapping-table",
        summary: "a new table overlaps an existing one (similar name, or ≥ 60 % of its columns and types)",
        why: "Two tables for one concept drift apart: which one is the truth, which one do policies, imports and reports read? The cheapest schema change is the one that reuses what exists.",
        bad: "create table customer_profiles (id uuid primary key, user_id uuid, full_name text, avatar_url text, website text);  -- profiles exists",
        good: "alter table profiles add column website text;  -- or no change at all",
        fix: "Reuse the existing table (add a column there if one is missing), or say why a second table is needed with -- dbsage:justify \"…\".",
    },
    run,
};

/// How a new table overlaps an existing one.
#[derive(Debug, Clone)]
pub struct Overlap {
    /// `schema.name` of the existing table.
    pub existing: String,
    pub reason: String,
    /// The shared `name type` columns (not counting keys and timestamps).
    pub shared_columns: Vec<String>,
}

/// Singular, lower-case words of a table name, without a leading `tbl`/`app` prefix.
fn words(name: &str) -> Vec<String> {
    name.to_lowercase()
        .split('_')
        .filter(|w| !w.is_empty() && !matches!(*w, "tbl" | "app" | "new" | "v2"))
        .map(|w| {
            w.strip_suffix("ies")
                .map(|s| format!("{s}y"))
                .or_else(|| w.strip_suffix("sses").map(|s| format!("{s}ss")))
                .or_else(|| {
                    (w.len() > 3 && w.ends_with('s') && !w.ends_with("ss"))
                        .then(|| w[..w.len() - 1].to_string())
                })
                .unwrap_or_else(|| w.to_string())
        })
        .collect()
}

/// True when two table names name one concept: equal once singular, or one is the other with
/// a qualifier in front (`customer_profiles` / `profiles`).
fn similar_names(new: &str, existing: &str) -> bool {
    let (a, b) = (words(new), words(existing));
    if a.is_empty() || b.is_empty() {
        return false;
    }
    a == b || (a.len() > b.len() && a.ends_with(&b)) || (b.len() > a.len() && b.ends_with(&a))
}

/// The existing table of `before` that `new` overlaps most, if any.
pub fn overlap_with(new: &Table, before: &Catalog) -> Option<Overlap> {
    let typed = |t: &Table| -> Vec<String> {
        t.columns
            .iter()
            .filter(|c| !is_bookkeeping(t, &c.name))
            .map(|c| format!("{} {}", c.name, c.data_type))
            .collect()
    };
    let mine = typed(new);
    let mut best: Option<(f64, Overlap)> = None;
    for existing in before
        .tables
        .iter()
        .filter(|t| t.schema == new.schema || t.schema == "public")
    {
        let theirs = typed(existing);
        let shared: Vec<String> = mine
            .iter()
            .filter(|c| theirs.contains(c))
            .cloned()
            .collect();
        let share = if mine.is_empty() {
            0.0
        } else {
            shared.len() as f64 / mine.len() as f64
        };
        let qualified = format!("{}.{}", existing.schema, existing.name);
        let reason = if shared.len() >= MIN_SHARED && share >= COLUMN_SHARE {
            format!(
                "{} of its {} columns ({:.0} %) are already in {qualified} with the same types",
                shared.len(),
                mine.len(),
                share * 100.0
            )
        } else if similar_names(&new.name, &existing.name) {
            format!("its name is close to {qualified}")
        } else {
            continue;
        };
        if best.as_ref().is_none_or(|(s, _)| share > *s) {
            best = Some((
                share,
                Overlap {
                    existing: qualified,
                    reason,
                    shared_columns: shared,
                },
            ));
        }
    }
    best.map(|(_, o)| o)
}

fn run(cx: &Context) -> Vec<Raised> {
    let mut out = Vec::new();
    for new in &cx.change.new_tables {
        let Some(table) = find_table(cx.after, &new.name) else {
            continue;
        };
        if let Some(overlap) = overlap_with(table, cx.before) {
            out.push(Raised {
                keys: vec![format!("table {}", new.name)],
                object: format!("table {}", new.name),
                message: format!(
                    "`{}` overlaps `{}`: {}; can the existing table hold this?",
                    new.name, overlap.existing, overlap.reason
                ),
                evidence: json!({
                    "existing_table": overlap.existing,
                    "shared_columns": overlap.shared_columns,
                    "reason": overlap.reason,
                }),
                fix_sql: None,
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use super::*;

    #[test]
    fn names_that_mean_the_same() {
        assert!(similar_names("customer", "customers"));
        assert!(similar_names("customer_profiles", "profiles"));
        assert!(similar_names("categories", "category"));
        assert!(!similar_names("orders", "order_items"));
        assert!(!similar_names("profiles", "projects"));
        assert!(!similar_names("invoices", "addresses"));
    }

    #[test]
    fn a_copy_of_profiles_overlaps() {
        let copy = table(
            "user_details",
            &[
                ("id", "uuid", true),
                ("username", "text", false),
                ("full_name", "text", false),
                ("avatar_url", "text", false),
                ("bio", "text", false),
            ],
        );
        let raised = raised(&CHECK, vec![supabase_profiles()], vec![copy]);
        assert_eq!(raised.len(), 1, "{raised:?}");
        assert!(raised[0].message.contains("public.profiles"));
    }

    #[test]
    fn a_distinct_table_does_not() {
        let posts = table(
            "posts",
            &[
                ("id", "uuid", true),
                ("title", "text", true),
                ("body", "text", true),
                ("website", "text", false),
            ],
        );
        assert!(raised(&CHECK, vec![supabase_profiles()], vec![posts]).is_empty());
    }
}
