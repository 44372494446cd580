//! `prefer-text-over-varchar`: `varchar(n)` columns.

use super::{at_column, column_definitions, column_type, Rule};
use crate::context::{FileContext, Hit};
use crate::finding::Severity;

pub(crate) const RULE: Rule = Rule {
    id: "prefer-text-over-varchar",
    severity: Severity::Warning,
    summary: "Column of type varchar(n).",
    doc: r#"
## What it checks
Columns declared (or changed to) `varchar(n)` / `character varying(n)`.

## Why it matters
In PostgreSQL `varchar(n)` is `text` plus a length check, with no storage or speed benefit.
Raising the limit later is an `ALTER COLUMN TYPE`, and lowering it rewrites the table under an
ACCESS EXCLUSIVE lock; a `CHECK (char_length(col) <= n)` constraint can be changed cheaply.

## Example
```sql
create table if not exists users (id bigint primary key, email varchar(255));
```
Use instead:
```sql
create table if not exists users (
  id bigint primary key,
  email text check (char_length(email) <= 255)
);
```

## Fix
Use `text`, with a `CHECK` constraint if a limit matters. Default severity: warning.
"#,
    check,
};

fn check(cx: &FileContext, hits: &mut Vec<Hit>) {
    for unit in cx.units {
        for (name, column) in column_definitions(unit) {
            let limited = column.type_name.as_ref().is_some_and(|t| !t.typmods.is_empty());
            if column_type(column) == "varchar" && limited {
                hits.push(at_column(
                    cx,
                    unit,
                    column,
                    format!("column `{name}` is `varchar(n)`"),
                    "Use `text` with a `CHECK (char_length(…) <= n)` constraint if the limit matters.",
                ));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::rules::testing::*;

    const RULE: &str = "prefer-text-over-varchar";

    #[test]
    fn triggers_on_limited_varchar() {
        assert_eq!(run(RULE, "create table t (a varchar(10), b character varying(3));").len(), 2);
        assert_eq!(run(RULE, "alter table t add column if not exists a varchar(5);").len(), 1);
    }

    #[test]
    fn clean_on_text_and_unlimited_varchar() {
        assert!(run(RULE, "create table t (a text, b varchar);").is_empty());
    }
}
