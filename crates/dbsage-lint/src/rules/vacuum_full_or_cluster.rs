//! `vacuum-full-or-cluster`: VACUUM FULL and CLUSTER lock the table for a full rewrite.

use dbsage_sql::NodeEnum;

use super::Rule;
use crate::ast;
use crate::context::{FileContext, Hit};
use crate::finding::Severity;

pub(crate) const RULE: Rule = Rule {
    id: "vacuum-full-or-cluster",
    severity: Severity::Warning,
    summary: "VACUUM FULL or CLUSTER in a migration.",
    doc: r#"
## What it checks
`VACUUM FULL` and `CLUSTER` statements.

## Why it matters
Both rewrite the whole table under an ACCESS EXCLUSIVE lock: no reads or writes until they
finish. They also cannot run inside a transaction (`VACUUM`) or take long enough to hit deploy
timeouts. Bloat is a maintenance task, not a schema change.

## Example
```sql
vacuum full orders;
```
Use instead:
```sql
-- run pg_repack (online) from an operations job, outside migrations
```

## Fix
Remove it from the migration; use `pg_repack` or a scheduled maintenance window. Default
severity: warning.
"#,
    check,
};

fn check(cx: &FileContext, hits: &mut Vec<Hit>) {
    for unit in cx.units {
        let what = match &unit.node {
            NodeEnum::VacuumStmt(v) if v.is_vacuumcmd && ast::option(&v.options, "full").is_some() => "VACUUM FULL",
            NodeEnum::ClusterStmt(_) => "CLUSTER",
            _ => continue,
        };
        hits.push(Hit::at(
            unit,
            format!("{what} rewrites the table under an ACCESS EXCLUSIVE lock"),
            "Remove it from the migration; use pg_repack or a maintenance window.",
        ));
    }
}

#[cfg(test)]
mod tests {
    use crate::rules::testing::*;

    const RULE: &str = "vacuum-full-or-cluster";

    #[test]
    fn triggers_on_vacuum_full_and_cluster() {
        assert_eq!(run(RULE, "vacuum full t;").len(), 1);
        assert_eq!(run(RULE, "vacuum (full, analyze) t;").len(), 1);
        assert_eq!(run(RULE, "cluster t using t_pkey;").len(), 1);
    }

    #[test]
    fn clean_on_plain_vacuum_and_analyze() {
        assert!(run(RULE, "vacuum t; analyze t;").is_empty());
    }
}
