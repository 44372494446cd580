//! `repeated-column-group`: numbered copies of one column (`phone1`, `phone2`).

use std::collections::BTreeMap;

use serde_json::json;

use super::{Check, Context, Doc, Raised};

/// Stems whose numbering is a convention, not a repeating group: postal address lines.
const CONVENTIONAL_STEMS: &[&str] = &["line", "address_line", "address"];

pub const CHECK: Check = Check {
    doc: Doc {
        id: "repeated-column-group",
        summary: "numbered copies of one column (phone1, phone2, tag_1, tag_2)",
        why: "A repeating group caps the count at the number of columns, makes every query ask each copy (`where phone1 = $1 or phone2 = $1`) and leaves most of them NULL.",
        bad: "create table contacts (id bigint primary key, phone1 text, phone2 text, phone3 text);",
        good: "create table contact_phones (contact_id bigint references contacts, phone text, primary key (contact_id, phone));  -- or one text[] column",
        fix: "One row per value in a child table, or an array column when the values are never queried alone.",
    },
    run,
};

/// `phone2` → `phone`, `tag_1` → `tag`; `None` when the name does not end in a number.
fn stem(name: &str) -> Option<&str> {
    let head = name.trim_end_matches(|c: char| c.is_ascii_digit());
    (head.len() < name.len() && !head.is_empty()).then(|| head.trim_end_matches('_'))
}

fn run(cx: &Context) -> Vec<Raised> {
    let mut out = Vec::new();
    for (table_name, _) in cx
        .change
        .new_tables
        .iter()
        .map(|t| (&t.name, ()))
        .chain(cx.change.new_columns.keys().map(|t| (t, ())))
    {
        let Some(table) = crate::change::find_table(cx.after, table_name) else {
            continue;
        };
        let mut groups: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for column in &table.columns {
            if let Some(stem) = stem(&column.name).filter(|s| !CONVENTIONAL_STEMS.contains(s)) {
                groups.entry(stem).or_default().push(&column.name);
            }
        }
        for (stem, columns) in groups.into_iter().filter(|(_, c)| c.len() >= 2) {
            let new_here = |c: &&&str| {
                cx.change
                    .all_new_columns()
                    .any(|(t, n)| t == table_name && n.name == **c)
            };
            let Some(first_new) = columns.iter().find(new_here) else {
                continue; // the group existed before the change
            };
            out.push(Raised {
                keys: vec![format!("column {table_name}.{first_new}")],
                object: format!("table {table_name}"),
                message: format!(
                    "{} are numbered copies of `{stem}`: one row per value (or an array) holds any number",
                    columns.join(", ")
                ),
                evidence: json!({ "stem": stem, "columns": columns }),
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
    fn numbered_phones_raise_it() {
        let t = table(
            "contacts",
            &[
                ("id", "bigint", true),
                ("phone1", "text", false),
                ("phone2", "text", false),
            ],
        );
        assert_eq!(raised(&CHECK, vec![], vec![t]).len(), 1);
    }

    #[test]
    fn address_lines_and_single_numbers_are_silent() {
        let t = table(
            "addresses",
            &[
                ("id", "bigint", true),
                ("address_line1", "text", true),
                ("address_line2", "text", false),
                ("sha256", "text", false),
            ],
        );
        assert!(raised(&CHECK, vec![], vec![t]).is_empty());
        assert!(raised(&CHECK, vec![], vec![supabase_profiles()]).is_empty());
    }
}
