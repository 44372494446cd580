//! `many-new-tables`: three or more new tables in one change.

use serde_json::json;

use super::{Check, Context, Doc, Raised};

/// From three tables on, a change is a new subsystem rather than a feature.
pub const THRESHOLD: usize = 3;

pub const CHECK: Check = Check {
    doc: Doc {
        id: "many-new-tables",
        summary: "the change creates 3 or more tables",
        why: "Each table is schema to migrate, secure (RLS), index, back up and explain forever. Three or more at once usually means a design made up front for needs that have not shown up yet.",
        bad: "create table projects (...);\ncreate table project_members (...);\ncreate table project_settings (...);",
        good: "create table projects (...);  -- members and settings wait until a user needs them",
        fix: "Ship the one table the feature needs today; add the others when their pain is real, or say why now with -- dbsage:justify \"…\".",
    },
    run,
};

fn run(cx: &Context) -> Vec<Raised> {
    let tables = &cx.change.new_tables;
    if tables.len() < THRESHOLD {
        return vec![];
    }
    let names: Vec<&str> = tables.iter().map(|t| t.name.as_str()).collect();
    vec![Raised {
        keys: names.iter().map(|n| format!("table {n}")).collect(),
        object: format!("change ({} tables)", names.len()),
        message: format!(
            "the change creates {} tables ({}): is each needed now?",
            names.len(),
            names.join(", ")
        ),
        evidence: json!({ "new_tables": names, "threshold": THRESHOLD }),
        fix_sql: None,
    }]
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use super::*;

    #[test]
    fn three_tables_raise_it() {
        let t = |n| table(n, &[("id", "bigint", true), ("name", "text", true)]);
        let raised = raised(&CHECK, vec![], vec![t("a"), t("b"), t("c")]);
        assert_eq!(raised.len(), 1);
        assert!(raised[0].message.contains("3 tables"));
    }

    #[test]
    fn two_tables_are_silent() {
        let t = |n| table(n, &[("id", "bigint", true), ("name", "text", true)]);
        assert!(raised(&CHECK, vec![], vec![t("a"), t("b")]).is_empty());
    }
}
