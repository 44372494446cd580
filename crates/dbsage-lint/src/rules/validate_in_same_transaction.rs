//! `validate-in-same-transaction`: VALIDATE CONSTRAINT in the file that added it NOT VALID.

use dbsage_sql::pg_query::protobuf::AlterTableType;

use super::{alter_table_cmds, is_cmd, Rule};
use crate::context::{FileContext, Hit};
use crate::finding::Severity;

pub(crate) const RULE: Rule = Rule {
    id: "validate-in-same-transaction",
    severity: Severity::Warning,
    summary: "VALIDATE CONSTRAINT in the same transaction that added the constraint NOT VALID.",
    doc: r#"
## What it checks
`ALTER TABLE … VALIDATE CONSTRAINT c` in a file (run in one transaction) that also adds `c` with
`NOT VALID`.

## Why it matters
The point of `NOT VALID` is to release the write-blocking lock quickly and validate later under
a weaker lock. In the same transaction, the strong lock taken by `ADD CONSTRAINT` is still held
while validation scans the table: the same outage as without `NOT VALID`.

## Example
```sql
alter table orders add constraint orders_total_check check (total >= 0) not valid;
alter table orders validate constraint orders_total_check;
```
Use instead:
```sql
-- 20240501120000_add_orders_total_check.sql
alter table orders add constraint orders_total_check check (total >= 0) not valid;
-- 20240501120100_validate_orders_total_check.sql
alter table orders validate constraint orders_total_check;
```

## Fix
Move the `VALIDATE CONSTRAINT` to the next migration file. Default severity: warning.
"#,
    check,
};

fn check(cx: &FileContext, hits: &mut Vec<Hit>) {
    if cx.no_transaction {
        return;
    }
    for unit in cx.units {
        for (i, (table, cmd)) in alter_table_cmds(unit).into_iter().enumerate() {
            if is_cmd(cmd, AlterTableType::AtValidateConstraint)
                && cx.facts.added_not_valid_before(&table, &cmd.name, (unit.index, i))
            {
                hits.push(Hit::at(
                    unit,
                    format!("constraint `{}` is validated in the transaction that added it: the write lock is held during the scan", cmd.name),
                    "Move `VALIDATE CONSTRAINT` to the next migration file.",
                ));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::rules::testing::*;

    const RULE: &str = "validate-in-same-transaction";

    #[test]
    fn triggers_in_the_same_file() {
        let sql = "alter table t add constraint c check (b > 0) not valid;\nalter table t validate constraint c;";
        assert_eq!(run_after(RULE, &[EXISTING], sql).len(), 1);
    }

    #[test]
    fn clean_in_a_later_file_or_without_transaction() {
        let history = [EXISTING, "alter table t add constraint c check (b > 0) not valid;"];
        assert!(run_after(RULE, &history, "alter table t validate constraint c;").is_empty());
        let sql = "-- dbsage:no-transaction\nalter table t add constraint c check (b > 0) not valid;\nalter table t validate constraint c;";
        assert!(run_after(RULE, &[EXISTING], sql).is_empty());
    }
}
