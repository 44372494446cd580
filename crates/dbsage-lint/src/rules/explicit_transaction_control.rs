//! `explicit-transaction-control`: BEGIN/COMMIT/ROLLBACK in a file dbsage runs in a transaction.

use dbsage_sql::pg_query::protobuf::TransactionStmtKind as Kind;
use dbsage_sql::NodeEnum;

use super::Rule;
use crate::context::{FileContext, Hit};
use crate::finding::Severity;

pub(crate) const RULE: Rule = Rule {
    id: "explicit-transaction-control",
    severity: Severity::Error,
    summary: "BEGIN / COMMIT / ROLLBACK inside a migration that dbsage already wraps in a transaction.",
    doc: r#"
## What it checks
`BEGIN`, `START TRANSACTION`, `COMMIT`, `ROLLBACK`, `END` and the two-phase commands in a file
that dbsage runs inside its own transaction (every file without `-- dbsage:no-transaction` in its
header). Savepoints are fine.

## Why it matters
A `COMMIT` in the middle ends dbsage's transaction: the statements after it run in autocommit, so
a failure leaves the migration half applied while the history table says otherwise; a
`ROLLBACK` silently discards the work before it. The migration is no longer atomic.

## Example
```sql
begin;
alter table orders add column note text;
commit;
```
Use instead:
```sql
alter table orders add column note text;
```

## Fix
Remove the transaction control: dbsage wraps each file in one transaction. For a file that must
manage transactions itself, put `-- dbsage:no-transaction` in its header. Default severity:
error (it breaks the migration's atomicity).
"#,
    check,
};

fn check(cx: &FileContext, hits: &mut Vec<Hit>) {
    if cx.no_transaction {
        return;
    }
    for unit in cx.units.iter().filter(|u| !u.in_do) {
        let NodeEnum::TransactionStmt(t) = &unit.node else { continue };
        let controls = matches!(
            Kind::try_from(t.kind),
            Ok(Kind::TransStmtBegin
                | Kind::TransStmtStart
                | Kind::TransStmtCommit
                | Kind::TransStmtRollback
                | Kind::TransStmtPrepare
                | Kind::TransStmtCommitPrepared
                | Kind::TransStmtRollbackPrepared)
        );
        if controls {
            hits.push(Hit::at(
                unit,
                "transaction control inside a migration that dbsage runs in a transaction",
                "Remove it (dbsage wraps the file), or add `-- dbsage:no-transaction` to the header.",
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::rules::testing::*;

    #[test]
    fn triggers_on_begin_and_commit() {
        assert_eq!(run("explicit-transaction-control", "begin;\nselect 1;\ncommit;").len(), 2);
        assert_eq!(run("explicit-transaction-control", "select 1; rollback;").len(), 1);
    }

    #[test]
    fn savepoints_and_no_transaction_files_are_fine() {
        assert!(run("explicit-transaction-control", "savepoint a; select 1; release savepoint a;").is_empty());
        assert!(run(
            "explicit-transaction-control",
            "-- dbsage:no-transaction\nbegin;\nselect 1;\ncommit;"
        )
        .is_empty());
    }
}
