//! `set-not-null-existing`: SET NOT NULL on an existing table.

use dbsage_sql::pg_query::protobuf::AlterTableType;

use super::{alter_table_cmds, is_cmd, Rule};
use crate::context::{FileContext, Hit};
use crate::finding::Severity;

pub(crate) const RULE: Rule = Rule {
    id: "set-not-null-existing",
    severity: Severity::Warning,
    summary: "ALTER COLUMN … SET NOT NULL on an existing table.",
    doc: r#"
## What it checks
`ALTER TABLE … ALTER COLUMN … SET NOT NULL` on a table that existed before this file.

## Why it matters
PostgreSQL scans the whole table to check for NULLs while holding an ACCESS EXCLUSIVE lock: no
reads or writes for the duration. Since PostgreSQL 12 the scan is skipped when a validated
`CHECK (col IS NOT NULL)` constraint already proves it.

## Example
```sql
alter table orders alter column user_id set not null;
```
Use instead:
```sql
alter table orders add constraint orders_user_id_not_null check (user_id is not null) not valid;
-- next migration file:
alter table orders validate constraint orders_user_id_not_null;
alter table orders alter column user_id set not null;
alter table orders drop constraint if exists orders_user_id_not_null;
```

## Fix
Add a `CHECK (col IS NOT NULL) NOT VALID` constraint, validate it in a later file, then set NOT
NULL (instant) and drop the check. Default severity: warning.
"#,
    check,
};

fn check(cx: &FileContext, hits: &mut Vec<Hit>) {
    for unit in cx.units {
        for (table, cmd) in alter_table_cmds(unit) {
            if is_cmd(cmd, AlterTableType::AtSetNotNull) && cx.is_existing_table(&table, unit) {
                hits.push(Hit::at(
                    unit,
                    format!("SET NOT NULL on `{table}`.`{}` scans the table under an ACCESS EXCLUSIVE lock", cmd.name),
                    "Add `CHECK (col IS NOT NULL) NOT VALID`, validate it in a later file, then SET NOT NULL.",
                ));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::rules::testing::*;

    const RULE: &str = "set-not-null-existing";

    #[test]
    fn triggers_on_existing_table() {
        assert_eq!(run_after(RULE, &[EXISTING], "alter table t alter column a set not null;").len(), 1);
    }

    #[test]
    fn clean_on_new_table() {
        assert!(run(RULE, "create table n (a int);\nalter table n alter column a set not null;").is_empty());
    }
}
