//! `non-idempotent-drop`: DROP without IF EXISTS.

use dbsage_sql::pg_query::protobuf::AlterTableType;
use dbsage_sql::NodeEnum;

use super::{alter_table_cmds, is_cmd, Rule};
use crate::context::{FileContext, Hit};
use crate::finding::Severity;

pub(crate) const RULE: Rule = Rule {
    id: "non-idempotent-drop",
    severity: Severity::Warning,
    summary: "DROP … / DROP COLUMN / DROP CONSTRAINT without IF EXISTS.",
    doc: r#"
## What it checks
`DROP TABLE / INDEX / VIEW / FUNCTION / POLICY / TRIGGER / TYPE / …` and `ALTER TABLE … DROP
COLUMN / DROP CONSTRAINT` without `IF EXISTS`, outside a guarded DO block.

## Why it matters
Re-running the migration fails once the object is gone.

## Example
```sql
drop index orders_status_idx;
```
Use instead:
```sql
drop index if exists orders_status_idx;
```

## Fix
Add `IF EXISTS`. Default severity: warning.
"#,
    check,
};

fn check(cx: &FileContext, hits: &mut Vec<Hit>) {
    for unit in cx.units.iter().filter(|u| !u.guarded) {
        if let NodeEnum::DropStmt(d) = &unit.node {
            if !d.missing_ok {
                hits.push(Hit::at(unit, "DROP fails if the object does not exist", "Add `IF EXISTS`."));
            }
        }
        for (table, cmd) in alter_table_cmds(unit) {
            let what = if is_cmd(cmd, AlterTableType::AtDropColumn) {
                "DROP COLUMN"
            } else if is_cmd(cmd, AlterTableType::AtDropConstraint) {
                "DROP CONSTRAINT"
            } else {
                continue;
            };
            if !cmd.missing_ok {
                hits.push(Hit::at(
                    unit,
                    format!("{what} `{}` on `{table}` fails if it does not exist", cmd.name),
                    format!("Write `{what} IF EXISTS`."),
                ));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::rules::testing::*;

    const RULE: &str = "non-idempotent-drop";

    #[test]
    fn triggers_without_if_exists() {
        assert_eq!(run(RULE, "drop index i;").len(), 1);
        assert_eq!(run(RULE, "drop policy p on t;").len(), 1);
        assert_eq!(run(RULE, "alter table t drop column a;").len(), 1);
        assert_eq!(run(RULE, "alter table t drop constraint c;").len(), 1);
    }

    #[test]
    fn clean_with_if_exists() {
        assert!(run(RULE, "drop index if exists i; alter table t drop column if exists a;").is_empty());
        let guarded = "do $$ begin if exists (select 1 from pg_indexes where indexname = 'i') then drop index i; end if; end $$;";
        assert!(run(RULE, guarded).is_empty());
    }
}
