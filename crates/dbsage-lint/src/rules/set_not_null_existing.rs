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
`CHECK (col IS NOT NULL)` constraint already proves it. Since PostgreSQL 18 a NOT NULL constraint
can itself be added `NOT VALID` and validated later, which is simpler; the fix follows the
target version (`[local] pg_version`).

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

On PostgreSQL 18 and later:
```sql
alter table orders add constraint orders_user_id_not_null not null user_id not valid;
-- next migration file (a scan that lets reads and writes through):
alter table orders validate constraint orders_user_id_not_null;
```

## Fix
Before 18: add a `CHECK (col IS NOT NULL) NOT VALID` constraint, validate it in a later file,
then set NOT NULL (instant) and drop the check. On 18+: add the NOT NULL constraint `NOT VALID`
and validate it in a later file. Default severity: warning.
"#,
    check,
};

fn check(cx: &FileContext, hits: &mut Vec<Hit>) {
    for unit in cx.units {
        for (table, cmd) in alter_table_cmds(unit) {
            if is_cmd(cmd, AlterTableType::AtSetNotNull) && cx.is_existing_table(&table, unit) {
                let fix = if cx.targets_at_least(18) {
                    format!("Add `CONSTRAINT {}_{}_not_null NOT NULL {} NOT VALID`, then VALIDATE CONSTRAINT in a later file (PostgreSQL 18+).", table.name, cmd.name, cmd.name)
                } else {
                    "Add `CHECK (col IS NOT NULL) NOT VALID`, validate it in a later file, then SET NOT NULL.".to_string()
                };
                hits.push(Hit::at(
                    unit,
                    format!("SET NOT NULL on `{table}`.`{}` scans the table under an ACCESS EXCLUSIVE lock", cmd.name),
                    fix,
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
    fn fix_follows_the_target_version() {
        let sql = "alter table t alter column a set not null;";
        let on = |major| {
            let config = crate::LintConfig { target_major: Some(major), ..Default::default() };
            run_with(RULE, &[EXISTING], sql, &config).remove(0).fix
        };
        assert!(on(17).contains("CHECK (col IS NOT NULL) NOT VALID"), "{}", on(17));
        assert!(on(18).contains("CONSTRAINT t_a_not_null NOT NULL a NOT VALID"), "{}", on(18));
    }

    #[test]
    fn clean_on_new_table() {
        assert!(run(RULE, "create table n (a int);\nalter table n alter column a set not null;").is_empty());
    }
}
