//! `refresh-matview-blocking`: REFRESH MATERIALIZED VIEW without CONCURRENTLY.

use dbsage_sql::NodeEnum;

use super::Rule;
use crate::context::{FileContext, Hit};
use crate::finding::Severity;

pub(crate) const RULE: Rule = Rule {
    id: "refresh-matview-blocking",
    severity: Severity::Warning,
    summary: "REFRESH MATERIALIZED VIEW without CONCURRENTLY blocks reads of the view.",
    doc: r#"
## What it checks
`REFRESH MATERIALIZED VIEW` without `CONCURRENTLY` (and not `WITH NO DATA`).

## Why it matters
A plain refresh takes an ACCESS EXCLUSIVE lock on the view: every query reading it waits until
the refresh finishes.

## Example
```sql
refresh materialized view daily_sales;
```
Use instead:
```sql
-- needs a unique index on the materialized view
refresh materialized view concurrently daily_sales;
```

## Fix
Create a unique index on the view and use `REFRESH MATERIALIZED VIEW CONCURRENTLY`. Default
severity: warning.
"#,
    check,
};

fn check(cx: &FileContext, hits: &mut Vec<Hit>) {
    for unit in cx.units {
        let NodeEnum::RefreshMatViewStmt(r) = &unit.node else { continue };
        if r.concurrent || r.skip_data {
            continue;
        }
        hits.push(Hit::at(
            unit,
            "REFRESH MATERIALIZED VIEW blocks every read of the view until it finishes",
            "Add a unique index to the view and use `REFRESH MATERIALIZED VIEW CONCURRENTLY`.",
        ));
    }
}

#[cfg(test)]
mod tests {
    use crate::rules::testing::*;

    const RULE: &str = "refresh-matview-blocking";

    #[test]
    fn triggers_without_concurrently() {
        assert_eq!(run(RULE, "refresh materialized view mv;").len(), 1);
    }

    #[test]
    fn clean_with_concurrently_or_no_data() {
        assert!(run(RULE, "refresh materialized view concurrently mv;").is_empty());
        assert!(run(RULE, "refresh materialized view mv with no data;").is_empty());
    }
}
