//! `index-not-concurrent`: CREATE INDEX on an existing table without CONCURRENTLY.

use dbsage_sql::NodeEnum;

use super::Rule;
use crate::ast::QualifiedName;
use crate::context::{FileContext, Hit};
use crate::finding::Severity;

pub(crate) const RULE: Rule = Rule {
    id: "index-not-concurrent",
    severity: Severity::Warning,
    summary: "CREATE INDEX on an existing table without CONCURRENTLY.",
    doc: r#"
## What it checks
`CREATE INDEX` without `CONCURRENTLY` on a table that existed before this file (tables created
in the same file are empty and not in use: no finding).

## Why it matters
A plain `CREATE INDEX` takes a SHARE lock: every `INSERT`, `UPDATE` and `DELETE` on the table
waits until the index is built, which takes minutes on a large table.

## Example
```sql
create index if not exists orders_status_idx on orders (status);
```
Use instead:
```sql
-- dbsage:no-transaction
create index concurrently if not exists orders_status_idx on orders (status);
```

## Fix
Use `CREATE INDEX CONCURRENTLY` in a file whose header is `-- dbsage:no-transaction` (it cannot
run inside a transaction). Default severity: warning.
"#,
    check,
};

fn check(cx: &FileContext, hits: &mut Vec<Hit>) {
    for unit in cx.units {
        let NodeEnum::IndexStmt(index) = &unit.node else { continue };
        let Some(table) = index.relation.as_ref().map(QualifiedName::of) else { continue };
        if !cx.is_existing_table(&table, unit) {
            continue;
        }
        // PostgreSQL (through 18) cannot build an index CONCURRENTLY on a partitioned table.
        let partitioned = cx.model.table(&table).is_some_and(|t| t.partitioned);
        let on_only = index.relation.as_ref().is_some_and(|r| !r.inh);
        if partitioned && !on_only {
            let what = if index.concurrent { "fails: PostgreSQL cannot build an index CONCURRENTLY on" } else { "blocks writes to every partition of" };
            hits.push(Hit::at(
                unit,
                format!("CREATE INDEX{} {what} partitioned table `{table}`", if index.concurrent { " CONCURRENTLY" } else { "" }),
                "Create it `ON ONLY` the partitioned table (instant, invalid), `CREATE INDEX CONCURRENTLY` on each partition, then `ALTER INDEX … ATTACH PARTITION` each one.",
            ));
            continue;
        }
        // `ON ONLY` a partitioned table only records an (invalid) index on the parent: instant.
        if index.concurrent || (partitioned && on_only) {
            continue;
        }
        hits.push(Hit::at(
            unit,
            format!("CREATE INDEX on existing table `{table}` blocks writes to it while the index builds"),
            "Use `CREATE INDEX CONCURRENTLY` in a file with `-- dbsage:no-transaction`.",
        ));
    }
}

#[cfg(test)]
mod tests {
    use crate::rules::testing::*;

    const RULE: &str = "index-not-concurrent";

    #[test]
    fn triggers_on_existing_table() {
        assert_eq!(run_after(RULE, &[EXISTING], "create index if not exists i on t (a);").len(), 1);
        // Unknown tables are assumed to exist.
        assert_eq!(run(RULE, "create index i on elsewhere (a);").len(), 1);
    }

    #[test]
    fn partitioned_tables_get_the_on_only_recipe() {
        let parent = "create table m (id bigint, at date) partition by range (at);";
        for sql in ["create index i on m (id);", "-- dbsage:no-transaction\ncreate index concurrently i on m (id);"] {
            let found = run_after(RULE, &[parent], sql);
            assert_eq!(found.len(), 1, "{sql}");
            assert!(found[0].fix.contains("ON ONLY"), "{}", found[0].fix);
        }
        assert!(run_after(RULE, &[parent], "create index i on only m (id);").is_empty());
    }

    #[test]
    fn clean_on_new_table_or_concurrently() {
        assert!(run(RULE, "create table n (a int);\ncreate index i on n (a);").is_empty());
        assert!(run_after(RULE, &[EXISTING], "-- dbsage:no-transaction\ncreate index concurrently i on t (a);").is_empty());
    }
}
