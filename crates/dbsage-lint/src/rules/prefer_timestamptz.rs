//! `prefer-timestamptz`: `timestamp` (without time zone) columns.

use super::{at_column, column_definitions, column_type, Rule};
use crate::context::{FileContext, Hit};
use crate::finding::Severity;

pub(crate) const RULE: Rule = Rule {
    id: "prefer-timestamptz",
    severity: Severity::Warning,
    summary: "Column of type timestamp (without time zone).",
    doc: r#"
## What it checks
Columns declared (or changed to) `timestamp` / `timestamp without time zone`.

## Why it matters
`timestamp` stores a wall-clock reading with no zone: the same instant written from servers or
sessions in different time zones is stored differently, and comparisons across DST changes are
wrong. `timestamptz` stores an instant (UTC) and converts on display.

## Example
```sql
alter table orders add column shipped_at timestamp;
```
Use instead:
```sql
alter table orders add column shipped_at timestamptz;
```

## Fix
Use `timestamptz`. Default severity: warning.
"#,
    check,
};

fn check(cx: &FileContext, hits: &mut Vec<Hit>) {
    for unit in cx.units {
        for (name, column) in column_definitions(unit) {
            if column_type(column) == "timestamp" {
                hits.push(at_column(
                    cx,
                    unit,
                    column,
                    format!("column `{name}` is `timestamp` (without time zone)"),
                    "Use `timestamptz`.",
                ));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::rules::testing::*;

    const RULE: &str = "prefer-timestamptz";

    #[test]
    fn triggers_on_timestamp() {
        assert_eq!(run(RULE, "create table t (a timestamp, b timestamp without time zone);").len(), 2);
        assert_eq!(run(RULE, "alter table t alter column a type timestamp;").len(), 1);
    }

    #[test]
    fn clean_on_timestamptz() {
        assert!(run(RULE, "create table t (a timestamptz, b timestamp with time zone, c date);").is_empty());
    }
}
