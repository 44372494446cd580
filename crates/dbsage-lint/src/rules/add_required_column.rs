//! `add-required-column`: ADD COLUMN … NOT NULL without DEFAULT on an existing table.

use dbsage_sql::pg_query::protobuf::{AlterTableType, ConstrType};
use dbsage_sql::NodeEnum;

use super::{alter_table_cmds, cmd_def, has_constraint, is_cmd, Rule};
use crate::context::{FileContext, Hit};
use crate::finding::Severity;

pub(crate) const RULE: Rule = Rule {
    id: "add-required-column",
    severity: Severity::Error,
    summary: "ADD COLUMN … NOT NULL without a DEFAULT on an existing table.",
    doc: r#"
## What it checks
`ALTER TABLE … ADD COLUMN … NOT NULL` with no `DEFAULT` (and not an identity or generated
column) on a table that existed before this file.

## Why it matters
If the table has rows, the statement fails: `column "…" of relation "…" contains null values`.
It passes on an empty development database and fails in production. Application code that
inserts without the new column breaks as well.

## Example
```sql
alter table orders add column currency text not null;
```
Use instead:
```sql
alter table orders add column if not exists currency text not null default 'EUR';
```

## Fix
Add a `DEFAULT` (constant defaults are instant since PostgreSQL 11), or add the column nullable,
backfill, then set NOT NULL. Default severity: error (it fails on a non-empty table).
"#,
    check,
};

fn check(cx: &FileContext, hits: &mut Vec<Hit>) {
    for unit in cx.units {
        for (table, cmd) in alter_table_cmds(unit) {
            if !is_cmd(cmd, AlterTableType::AtAddColumn) || !cx.is_existing_table(&table, unit) {
                continue;
            }
            let Some(NodeEnum::ColumnDef(column)) = cmd_def(cmd) else { continue };
            let not_null = column.is_not_null || has_constraint(column, ConstrType::ConstrNotnull);
            let filled = column.raw_default.is_some()
                || has_constraint(column, ConstrType::ConstrDefault)
                || has_constraint(column, ConstrType::ConstrIdentity)
                || has_constraint(column, ConstrType::ConstrGenerated);
            if not_null && !filled {
                hits.push(Hit::at(
                    unit,
                    format!("NOT NULL column `{}` without DEFAULT fails on `{table}` as soon as it has rows", column.colname),
                    "Add a `DEFAULT`, or add the column nullable, backfill it, then SET NOT NULL.",
                ));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::rules::testing::*;

    const RULE: &str = "add-required-column";

    #[test]
    fn triggers_on_existing_table() {
        assert_eq!(run_after(RULE, &[EXISTING], "alter table t add column c text not null;").len(), 1);
        let guarded = "do $$ begin if not exists (select 1 from information_schema.columns where column_name = 'c') then alter table t add column c text not null; end if; end $$;";
        assert_eq!(run_after(RULE, &[EXISTING], guarded).len(), 1, "a guard does not fill rows");
    }

    #[test]
    fn clean_with_default_nullable_or_new_table() {
        assert!(run_after(RULE, &[EXISTING], "alter table t add column c text not null default '';").is_empty());
        assert!(run_after(RULE, &[EXISTING], "alter table t add column c text;").is_empty());
        assert!(run_after(RULE, &[EXISTING], "alter table t add column c bigint generated always as identity not null;").is_empty());
        assert!(run(RULE, "create table n (a int);\nalter table n add column c text not null;").is_empty());
    }
}
