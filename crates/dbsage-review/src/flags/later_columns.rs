//! `later-column`: columns kept "for later": `*_v2`, `extra*`, `misc*`, and a generic
//! `data`/`metadata` json(b) next to typed columns.

use serde_json::json;

use super::{Check, Context, Doc, Raised};

/// Generic names for a bag of attributes.
const GENERIC_BAGS: &[&str] = &[
    "data",
    "metadata",
    "meta",
    "attributes",
    "properties",
    "extra",
    "extras",
    "details",
];

/// A table with at least this many typed (non-json, non-key) columns is modelled: a generic
/// bag next to them holds what was not modelled yet.
const TYPED_NEIGHBOURS: usize = 2;

pub const CHECK: Check = Check {
    doc: Doc {
        id: "later-column",
        summary: "a column for \"later\": *_v2, extra*, misc*, or a generic data/metadata json next to typed columns",
        why: "Versioned and catch-all columns keep two truths alive (which one is current?) or hide a schema nobody reviewed inside JSON: no types, no constraints, no indexes the planner understands.",
        bad: "alter table orders add column status_v2 text, add column metadata jsonb;",
        good: "alter table orders add column refunded_at timestamptz;  -- the one fact the feature needs, typed",
        fix: "Migrate the old column instead of adding a _v2 (expand, backfill, switch, drop); model the fields you know as typed columns; keep JSON for payloads you truly do not control (webhooks).",
    },
    run,
};

fn is_json(data_type: &str) -> bool {
    matches!(data_type, "json" | "jsonb")
}

/// Why `name` reads as a "later" column, if it does (the json case is judged by the caller).
fn later_reason(name: &str) -> Option<&'static str> {
    let versioned = name.rsplit_once("_v").is_some_and(|(head, n)| {
        !head.is_empty() && !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) && n != "1"
    });
    if versioned {
        Some("a versioned copy of another column")
    } else if name.starts_with("extra") || name.starts_with("misc") {
        Some("a catch-all")
    } else {
        None
    }
}

fn run(cx: &Context) -> Vec<Raised> {
    let mut out = Vec::new();
    for (table_name, column) in cx.change.all_new_columns() {
        let Some(table) = crate::change::find_table(cx.after, table_name) else {
            continue;
        };
        let reason = later_reason(&column.name).map(str::to_string).or_else(|| {
            let typed = table
                .columns
                .iter()
                .filter(|c| {
                    !is_json(&c.data_type) && !crate::change::is_bookkeeping(table, &c.name)
                })
                .count();
            (is_json(&column.data_type)
                && GENERIC_BAGS.contains(&column.name.as_str())
                && typed >= TYPED_NEIGHBOURS)
                .then(|| {
                    format!(
                        "a generic {} bag next to {typed} typed columns",
                        column.data_type
                    )
                })
        });
        if let Some(reason) = reason {
            out.push(Raised {
                keys: vec![format!("column {table_name}.{}", column.name)],
                object: format!("column {table_name}.{}", column.name),
                message: format!(
                    "`{}` is {reason}: which fields will it hold, and why not as typed columns?",
                    column.name
                ),
                evidence: json!({ "column": column.name, "data_type": column.data_type, "reason": reason }),
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
    fn versioned_and_catch_all_names() {
        assert!(later_reason("status_v2").is_some());
        assert!(later_reason("extra_info").is_some());
        assert!(later_reason("misc").is_some());
        assert!(later_reason("status").is_none());
        assert!(later_reason("api_v1").is_none());
        assert!(later_reason("dev_version").is_none());
    }

    #[test]
    fn metadata_next_to_typed_columns() {
        let t = table(
            "orders",
            &[
                ("id", "bigint", true),
                ("total_cents", "bigint", true),
                ("currency", "text", true),
                ("metadata", "jsonb", false),
            ],
        );
        assert_eq!(raised(&CHECK, vec![], vec![t]).len(), 1);
    }

    #[test]
    fn a_payload_table_is_silent() {
        // A webhook inbox: the JSON is the payload, not a bag next to a model.
        let t = table(
            "stripe_webhooks",
            &[
                ("id", "text", true),
                ("received_at", "timestamp with time zone", true),
                ("data", "jsonb", true),
            ],
        );
        assert!(raised(&CHECK, vec![], vec![t]).is_empty());
        assert!(raised(&CHECK, vec![], vec![supabase_profiles()]).is_empty());
    }
}
