//! `column-type-change`: ALTER COLUMN TYPE on an existing table.

use dbsage_sql::pg_query::protobuf::AlterTableType;
use dbsage_sql::NodeEnum;

use super::{alter_table_cmds, cmd_def, column_type, is_cmd, Rule};
use crate::context::{FileContext, Hit};
use crate::finding::Severity;

pub(crate) const RULE: Rule = Rule {
    id: "column-type-change",
    severity: Severity::Warning,
    summary: "ALTER COLUMN … TYPE on an existing table (usually a full rewrite under an exclusive lock).",
    doc: r#"
## What it checks
`ALTER TABLE … ALTER COLUMN … TYPE` on a table that existed before this file. Changes to
`text` or unlimited `varchar` are not reported (binary-compatible from `varchar`, no rewrite).

## Why it matters
Most type changes rewrite the table and rebuild its indexes while holding an ACCESS EXCLUSIVE
lock: the table is unavailable for the duration. Clients reading the old type may break too.

## Example
```sql
alter table events alter column id type bigint;
```
Use instead:
```sql
alter table events add column if not exists id_new bigint;
-- backfill in batches, sync with a trigger, then swap the columns in a short transaction
```

## Fix
Add a new column, backfill it in batches, switch readers and writers, then drop the old one.
Default severity: warning.
"#,
    check,
};

fn check(cx: &FileContext, hits: &mut Vec<Hit>) {
    for unit in cx.units {
        for (table, cmd) in alter_table_cmds(unit) {
            if !is_cmd(cmd, AlterTableType::AtAlterColumnType) || !cx.is_existing_table(&table) {
                continue;
            }
            let Some(NodeEnum::ColumnDef(column)) = cmd_def(cmd) else { continue };
            let new_type = column_type(column);
            let unlimited = column.type_name.as_ref().is_some_and(|t| t.typmods.is_empty());
            if new_type == "text" || (new_type == "varchar" && unlimited) {
                continue;
            }
            hits.push(Hit::at(
                unit,
                format!("changing `{table}`.`{}` to `{new_type}` rewrites the table under an ACCESS EXCLUSIVE lock", cmd.name),
                "Add a new column, backfill it in batches, switch the code over, then drop the old column.",
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::rules::testing::*;

    const RULE: &str = "column-type-change";

    #[test]
    fn triggers_on_existing_table() {
        assert_eq!(run_after(RULE, &[EXISTING], "alter table t alter column b type bigint;").len(), 1);
    }

    #[test]
    fn clean_for_text_or_new_table() {
        assert!(run_after(RULE, &[EXISTING], "alter table t alter column a type text;").is_empty());
        assert!(run(RULE, "create table n (b int);\nalter table n alter column b type bigint;").is_empty());
    }
}
