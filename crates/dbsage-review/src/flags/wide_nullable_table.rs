//! `wide-nullable-table`: a new table of 8 or more columns where every column outside the
//! primary key is nullable.

use serde_json::json;

use super::{Check, Context, Doc, Raised};

/// Columns outside the primary key from which "nothing is required" stops being a small
/// optional profile (Supabase's `profiles` has 5) and becomes an unmodelled form.
pub const WIDTH: usize = 8;

pub const CHECK: Check = Check {
    doc: Doc {
        id: "wide-nullable-table",
        summary: "a new table of 8 or more columns (besides the key) where every one is nullable",
        why: "When no column is required the table states no fact: every row may be empty, and every reader must handle NULL everywhere. It usually mirrors a form whose fields nobody has prioritised.",
        bad: "create table leads (id bigint primary key, name text, email text, phone text, company text, title text, source text, notes text, score int);",
        good: "create table leads (id bigint primary key, email text not null, source text not null, name text);",
        fix: "Mark NOT NULL what a row cannot exist without, and drop the columns nothing fills yet.",
    },
    run,
};

fn run(cx: &Context) -> Vec<Raised> {
    let mut out = Vec::new();
    for new in &cx.change.new_tables {
        let Some(table) = crate::change::find_table(cx.after, &new.name) else {
            continue;
        };
        let in_key = |c: &str| {
            table.constraints.iter().any(|k| {
                k.kind == dbsage_catalog::ConstraintKind::PrimaryKey
                    && k.columns.iter().any(|n| n == c)
            })
        };
        let others: Vec<&dbsage_catalog::Column> =
            table.columns.iter().filter(|c| !in_key(&c.name)).collect();
        if others.len() >= WIDTH && others.iter().all(|c| !c.not_null) {
            out.push(Raised {
                keys: vec![format!("table {}", new.name)],
                object: format!("table {}", new.name),
                message: format!(
                    "all {} columns of `{}` besides the key are nullable: which ones can a row not exist without?",
                    others.len(),
                    new.name
                ),
                evidence: json!({ "columns": others.len(), "width": WIDTH, "not_null": 0 }),
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

    fn leads(email_required: bool) -> dbsage_catalog::Table {
        table(
            "leads",
            &[
                ("id", "bigint", true),
                ("name", "text", false),
                ("email", "text", email_required),
                ("phone", "text", false),
                ("company", "text", false),
                ("title", "text", false),
                ("source", "text", false),
                ("notes", "text", false),
                ("score", "integer", false),
            ],
        )
    }

    #[test]
    fn nothing_required_raises_it() {
        assert_eq!(raised(&CHECK, vec![], vec![leads(false)]).len(), 1);
    }

    #[test]
    fn one_required_column_or_a_small_profile_is_silent() {
        assert!(raised(&CHECK, vec![], vec![leads(true)]).is_empty());
        assert!(raised(&CHECK, vec![], vec![supabase_profiles()]).is_empty());
    }
}
