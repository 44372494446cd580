//! `many-new-columns`: ten or more new columns of feature surface in one change.

use serde_json::json;

use super::{Check, Context, Doc, Raised};

/// Columns counted: primary keys, foreign keys and created/updated/deleted timestamps are left
/// out, so a normal new table (id, owner, a few fields, timestamps) stays under it.
pub const THRESHOLD: usize = 10;

pub const CHECK: Check = Check {
    doc: Doc {
        id: "many-new-columns",
        summary: "the change adds 10 or more columns (keys and timestamps not counted)",
        why: "Every column is a field to fill, validate, expose and keep consistent. Ten at once is usually a form designed ahead of its users; most of those columns stay NULL.",
        bad: "alter table customers add column fax text, add column twitter text, add column linkedin text, ...;",
        good: "alter table customers add column phone text;  -- the one field support asked for",
        fix: "Add the columns the feature reads today; keep the rest out until something needs them, or say why with -- dbsage:justify \"…\".",
    },
    run,
};

fn run(cx: &Context) -> Vec<Raised> {
    let counted: Vec<(&str, &str)> = cx
        .change
        .all_new_columns()
        .filter(|(_, c)| !c.bookkeeping)
        .map(|(t, c)| (t, c.name.as_str()))
        .collect();
    if counted.len() < THRESHOLD {
        return vec![];
    }
    let list: Vec<String> = counted.iter().map(|(t, c)| format!("{t}.{c}")).collect();
    vec![Raised {
        keys: counted.iter().map(|(t, c)| format!("column {t}.{c}")).collect(),
        object: format!("change ({} columns)", counted.len()),
        message: format!(
            "the change adds {} columns besides keys and timestamps: which ones does the feature read today?",
            counted.len()
        ),
        evidence: json!({ "columns": list, "threshold": THRESHOLD }),
        fix_sql: None,
    }]
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use super::*;

    #[test]
    fn ten_fields_raise_it() {
        let names = ["a", "b", "c", "d", "e", "f", "g", "h", "i", "j"];
        let mut columns = vec![("id", "bigint", true)];
        columns.extend(names.iter().map(|n| (*n, "text", false)));
        let raised = raised(&CHECK, vec![], vec![table("wide", &columns)]);
        assert_eq!(raised.len(), 1, "{raised:?}");
    }

    #[test]
    fn keys_and_timestamps_do_not_count() {
        let columns = [
            ("id", "bigint", true),
            ("created_at", "timestamp with time zone", true),
            ("updated_at", "timestamp with time zone", true),
            ("a", "text", true),
            ("b", "text", true),
            ("c", "text", true),
            ("d", "text", true),
            ("e", "text", true),
            ("f", "text", true),
            ("g", "text", true),
            ("h", "text", true),
        ];
        assert!(raised(&CHECK, vec![], vec![table("t", &columns)]).is_empty());
    }
}
