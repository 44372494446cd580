//! `prefer-identity`: serial columns.

use super::{at_column, column_definitions, column_type, Rule};
use crate::context::{FileContext, Hit};
use crate::finding::Severity;

pub(crate) const RULE: Rule = Rule {
    id: "prefer-identity",
    severity: Severity::Warning,
    summary: "serial / bigserial / smallserial instead of an identity column.",
    doc: r#"
## What it checks
Columns declared `serial`, `bigserial`, `smallserial` (or `serial2/4/8`).

## Why it matters
`serial` is a sequence plus a default, owned loosely: its permissions must be granted
separately (a classic "permission denied for sequence" in Supabase), it is not copied by
`CREATE TABLE … (LIKE …)`, and explicit inserts silently desynchronise it. SQL-standard identity
columns fix all three.

## Example
```sql
create table if not exists tags (id bigserial primary key, name text);
```
Use instead:
```sql
create table if not exists tags (id bigint generated always as identity primary key, name text);
```

## Fix
Use `bigint generated always as identity` (or `by default` when rows are sometimes inserted with
explicit ids). Default severity: warning.
"#,
    check,
};

fn check(cx: &FileContext, hits: &mut Vec<Hit>) {
    for unit in cx.units {
        for (name, column) in column_definitions(unit) {
            let type_name = column_type(column);
            if matches!(type_name.as_str(), "serial" | "bigserial" | "smallserial" | "serial2" | "serial4" | "serial8") {
                hits.push(at_column(
                    cx,
                    unit,
                    column,
                    format!("column `{name}` is `{type_name}`"),
                    "Use `bigint generated always as identity`.",
                ));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::rules::testing::*;

    const RULE: &str = "prefer-identity";

    #[test]
    fn triggers_on_serial() {
        assert_eq!(run(RULE, "create table t (id bigserial primary key, n serial);").len(), 2);
    }

    #[test]
    fn clean_on_identity() {
        assert!(run(RULE, "create table t (id bigint generated always as identity primary key);").is_empty());
    }
}
