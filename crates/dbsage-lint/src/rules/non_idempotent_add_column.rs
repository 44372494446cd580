//! `non-idempotent-add-column`: ADD COLUMN without IF NOT EXISTS.

use dbsage_sql::pg_query::protobuf::AlterTableType;
use dbsage_sql::NodeEnum;

use super::{alter_table_cmds, cmd_def, is_cmd, Rule};
use crate::context::{FileContext, Hit};
use crate::finding::Severity;

pub(crate) const RULE: Rule = Rule {
    id: "non-idempotent-add-column",
    severity: Severity::Warning,
    summary: "ALTER TABLE … ADD COLUMN without IF NOT EXISTS.",
    doc: r#"
## What it checks
`ALTER TABLE … ADD COLUMN` without `IF NOT EXISTS`, outside a guarded DO block.

## Why it matters
Re-running the migration (after a partial failure, on a restored copy) fails with
`column "…" of relation "…" already exists`.

## Example
```sql
alter table orders add column note text;
```
Use instead:
```sql
alter table orders add column if not exists note text;
```

## Fix
Add `IF NOT EXISTS`. Default severity: warning.
"#,
    check,
};

fn check(cx: &FileContext, hits: &mut Vec<Hit>) {
    for unit in cx.units.iter().filter(|u| !u.guarded) {
        for (table, cmd) in alter_table_cmds(unit) {
            if is_cmd(cmd, AlterTableType::AtAddColumn) && !cmd.missing_ok {
                let column = match cmd_def(cmd) {
                    Some(NodeEnum::ColumnDef(c)) => format!(" `{}`", c.colname),
                    _ => String::new(),
                };
                hits.push(Hit::at(
                    unit,
                    format!("ADD COLUMN{column} on `{table}` fails if the column already exists"),
                    "Write `ADD COLUMN IF NOT EXISTS`.",
                ));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::rules::testing::*;

    const RULE: &str = "non-idempotent-add-column";

    #[test]
    fn triggers_without_if_not_exists() {
        assert_eq!(run(RULE, "alter table t add column c text;").len(), 1);
    }

    #[test]
    fn clean_with_if_not_exists_or_guard() {
        assert!(run(RULE, "alter table t add column if not exists c text;").is_empty());
        let guarded = "do $$ begin if not exists (select 1 from information_schema.columns where table_name = 't' and column_name = 'c') then alter table t add column c text; end if; end $$;";
        assert!(run(RULE, guarded).is_empty());
    }
}
