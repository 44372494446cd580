//! `concurrently-in-transaction`: CONCURRENTLY cannot run inside a transaction block.

use dbsage_sql::NodeEnum;

use super::Rule;
use crate::context::{FileContext, Hit};
use crate::finding::Severity;

pub(crate) const RULE: Rule = Rule {
    id: "concurrently-in-transaction",
    severity: Severity::Error,
    summary: "CREATE/DROP INDEX CONCURRENTLY or REINDEX CONCURRENTLY in a file run inside a transaction.",
    doc: r#"
## What it checks
`CREATE INDEX CONCURRENTLY`, `DROP INDEX CONCURRENTLY` and `REINDEX … CONCURRENTLY` in a file
whose header lacks `-- dbsage:no-transaction` (dbsage then wraps the file in a transaction), and
in any DO block (a DO block always runs inside a transaction).

## Why it matters
PostgreSQL refuses these commands inside a transaction block: `ERROR: CREATE INDEX CONCURRENTLY
cannot run inside a transaction block`. The migration fails at deploy time.

## Example
```sql
create index concurrently if not exists orders_user_id_idx on orders (user_id);
```
Use instead:
```sql
-- dbsage:no-transaction
create index concurrently if not exists orders_user_id_idx on orders (user_id);
```

## Fix
Put the statement in its own migration file whose first line is `-- dbsage:no-transaction`
(dbsage then runs it outside a transaction and checks the index is valid afterwards). Default
severity: error (it will fail).
"#,
    check,
};

fn check(cx: &FileContext, hits: &mut Vec<Hit>) {
    for unit in cx.units {
        if cx.no_transaction && !unit.in_do {
            continue;
        }
        let what = match &unit.node {
            NodeEnum::IndexStmt(i) if i.concurrent => "CREATE INDEX CONCURRENTLY",
            NodeEnum::DropStmt(d) if d.concurrent => "DROP INDEX CONCURRENTLY",
            NodeEnum::ReindexStmt(r)
                if r.params.iter().any(|p| {
                    matches!(&p.node, Some(NodeEnum::DefElem(d)) if d.defname == "concurrently")
                }) =>
            {
                "REINDEX CONCURRENTLY"
            }
            _ => continue,
        };
        let place = if unit.in_do { "a DO block" } else { "a transaction" };
        hits.push(Hit::at(
            unit,
            format!("{what} cannot run inside {place}: the migration will fail"),
            "Move it to its own file with `-- dbsage:no-transaction` as the first line.",
        ));
    }
}

#[cfg(test)]
mod tests {
    use crate::rules::testing::*;

    const RULE: &str = "concurrently-in-transaction";

    #[test]
    fn triggers_in_a_wrapped_file() {
        assert_eq!(run(RULE, "create index concurrently i on t (a);").len(), 1);
        assert_eq!(run(RULE, "drop index concurrently if exists i;").len(), 1);
        assert_eq!(run(RULE, "reindex (concurrently) index i;").len(), 1);
    }

    #[test]
    fn triggers_inside_a_do_block_even_without_transaction() {
        let sql = "-- dbsage:no-transaction\ndo $$ begin execute 'create index concurrently i on t (a)'; end $$;";
        assert_eq!(run(RULE, sql).len(), 1);
    }

    #[test]
    fn fine_with_no_transaction_header_or_without_concurrently() {
        assert!(run(RULE, "-- dbsage:no-transaction\ncreate index concurrently i on t (a);").is_empty());
        assert!(run(RULE, "create index i on t (a);").is_empty());
    }
}
