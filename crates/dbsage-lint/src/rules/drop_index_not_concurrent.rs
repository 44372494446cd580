//! `drop-index-not-concurrent`: DROP INDEX on an existing table without CONCURRENTLY.

use dbsage_sql::pg_query::protobuf::ObjectType;
use dbsage_sql::NodeEnum;

use super::Rule;
use crate::ast::{self, QualifiedName};
use crate::context::{FileContext, Hit};
use crate::finding::Severity;

pub(crate) const RULE: Rule = Rule {
    id: "drop-index-not-concurrent",
    severity: Severity::Warning,
    summary: "DROP INDEX of an existing index without CONCURRENTLY.",
    doc: r#"
## What it checks
`DROP INDEX` without `CONCURRENTLY` of an index that existed before this file (an index created
in the same file, or on a table created in the same file, is not reported).

## Why it matters
A plain `DROP INDEX` takes an ACCESS EXCLUSIVE lock on the table: while it waits for running
queries to finish, every new query on the table queues behind it.

## Example
```sql
drop index if exists orders_status_idx;
```
Use instead:
```sql
-- dbsage:no-transaction
drop index concurrently if exists orders_status_idx;
```

## Fix
Use `DROP INDEX CONCURRENTLY` in a file whose header is `-- dbsage:no-transaction`. Default
severity: warning.
"#,
    check,
};

fn check(cx: &FileContext, hits: &mut Vec<Hit>) {
    for unit in cx.units {
        let NodeEnum::DropStmt(drop) = &unit.node else { continue };
        if drop.remove_type != ObjectType::ObjectIndex as i32 || drop.concurrent {
            continue;
        }
        let existing = drop.objects.iter().any(|o| {
            let Some(index) = QualifiedName::from_names(&ast::list_names(o)) else { return false };
            if cx.is_new_index(&index, unit) {
                return false;
            }
            match cx.model.index_tables.get(&index) {
                Some(table) => cx.is_existing_table(table, unit),
                None => true,
            }
        });
        if existing {
            hits.push(Hit::at(
                unit,
                "DROP INDEX locks the table against all queries while it waits",
                "Use `DROP INDEX CONCURRENTLY` in a file with `-- dbsage:no-transaction`.",
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::rules::testing::*;

    const RULE: &str = "drop-index-not-concurrent";

    #[test]
    fn triggers_on_existing_index() {
        let history = [EXISTING, "create index if not exists t_a on t (a);"];
        assert_eq!(run_after(RULE, &history, "drop index if exists t_a;").len(), 1);
        assert_eq!(run(RULE, "drop index if exists unknown_idx;").len(), 1);
    }

    #[test]
    fn clean_for_new_index_or_concurrently() {
        assert!(run(RULE, "create table n (a int);\ncreate index n_a on n (a);\ndrop index n_a;").is_empty());
        assert!(run(RULE, "-- dbsage:no-transaction\ndrop index concurrently if exists t_a;").is_empty());
    }
}
