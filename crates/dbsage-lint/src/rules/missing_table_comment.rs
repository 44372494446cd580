//! `missing-table-comment`: new tables without COMMENT ON TABLE.

use super::Rule;
use crate::context::{FileContext, Hit};
use crate::finding::Severity;

pub(crate) const RULE: Rule = Rule {
    id: "missing-table-comment",
    severity: Severity::Warning,
    summary: "A new table has no COMMENT ON TABLE by the end of its file.",
    doc: r#"
## What it checks
Each table created by the file gets a `COMMENT ON TABLE` in the same file.

## Why it matters
The comment is the documentation that travels with the schema: `\d+`, generated API docs
(PostgREST/Supabase show it), and whoever reads the table in two years.

## Example
```sql
create table if not exists ledger_entries (id bigint primary key, amount numeric not null);
```
Use instead:
```sql
create table if not exists ledger_entries (id bigint primary key, amount numeric not null);
comment on table ledger_entries is 'One row per money movement; never updated, only appended.';
```

## Fix
Add `COMMENT ON TABLE … IS '…';`. Teams that do not want this can set
`rules = { "missing-table-comment" = "off" }`. Default severity: warning.
"#,
    check,
};

fn check(cx: &FileContext, hits: &mut Vec<Hit>) {
    for (name, table) in cx.new_tables() {
        if !table.comment {
            hits.push(Hit::span(
                table.created_at.0,
                table.created_at.1,
                format!("table `{name}` has no comment"),
                format!("Add `COMMENT ON TABLE {name} IS '…';` saying what a row is."),
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::rules::testing::*;

    const RULE: &str = "missing-table-comment";

    #[test]
    fn triggers_without_comment() {
        assert_eq!(run(RULE, "create table t (id int);").len(), 1);
        assert_eq!(run(RULE, "create table t (id int);\ncomment on table other is 'x';").len(), 1);
    }

    #[test]
    fn clean_with_comment_or_existing_table() {
        assert!(run(RULE, "create table s.t (id int);\ncomment on table s.t is 'rows';").is_empty());
        assert!(run_after(RULE, &["create table t (id int);"], "alter table t add column x int;").is_empty());
    }
}
