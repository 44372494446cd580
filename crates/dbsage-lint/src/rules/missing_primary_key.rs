//! `missing-primary-key`: new tables without a primary key.

use super::Rule;
use crate::context::{FileContext, Hit};
use crate::finding::Severity;

pub(crate) const RULE: Rule = Rule {
    id: "missing-primary-key",
    severity: Severity::Warning,
    summary: "A new table has no primary key by the end of its file.",
    doc: r#"
## What it checks
Each table created by the file has a primary key (in the CREATE TABLE or an
`ALTER TABLE … ADD PRIMARY KEY` in the same file).

## Why it matters
Without one, rows cannot be addressed reliably: logical replication cannot replicate `UPDATE`s
and `DELETE`s, ORMs and PostgREST cannot target a row, and duplicates creep in (Supabase's
advisor: `no_primary_key`).

## Example
```sql
create table if not exists events (name text, at timestamptz);
```
Use instead:
```sql
create table if not exists events (
  id bigint generated always as identity primary key,
  name text,
  at timestamptz
);
```

## Fix
Add a primary key. Default severity: warning.
"#,
    check,
};

fn check(cx: &FileContext, hits: &mut Vec<Hit>) {
    for (name, table) in cx.new_tables() {
        if !table.primary_key {
            hits.push(Hit::span(
                table.created_at.0,
                table.created_at.1,
                format!("table `{name}` has no primary key"),
                "Add `id bigint generated always as identity primary key` (or a natural key).",
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::rules::testing::*;

    const RULE: &str = "missing-primary-key";

    #[test]
    fn triggers_without_primary_key() {
        assert_eq!(run(RULE, "create table t (a int unique);").len(), 1);
    }

    #[test]
    fn clean_with_primary_key_anywhere_in_the_file() {
        assert!(run(RULE, "create table t (a int primary key);").is_empty());
        assert!(run(RULE, "create table t (a int, b int, primary key (a, b));").is_empty());
        assert!(run(RULE, "create table t (a int);\nalter table t add primary key (a);").is_empty());
        assert!(run_after(RULE, &["create table t (a int);"], "alter table t add column b int;").is_empty());
    }
}
