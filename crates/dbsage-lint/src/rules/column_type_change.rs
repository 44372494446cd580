//! `column-type-change`: ALTER COLUMN TYPE on an existing table.

use dbsage_sql::pg_query::protobuf::AlterTableType;
use dbsage_sql::NodeEnum;

use super::{alter_table_cmds, cmd_def, column_type, is_cmd, Rule};
use crate::ast;
use crate::context::{FileContext, Hit};
use crate::finding::Severity;

pub(crate) const RULE: Rule = Rule {
    id: "column-type-change",
    severity: Severity::Warning,
    summary: "ALTER COLUMN … TYPE on an existing table (usually a full rewrite under an exclusive lock).",
    doc: r#"
## What it checks
`ALTER TABLE … ALTER COLUMN … TYPE` on a table that existed before this file, unless the
change is binary-coercible and needs no rewrite nor scan: `varchar(n)` → `text`, unbounded
`varchar` or `varchar(m ≥ n)`; `text` → unbounded `varchar`; `numeric(p, s)` →
`numeric(p2 ≥ p, s)` or unbounded `numeric`; `varbit(n)` → `varbit(m ≥ n)`; `cidr` → `inet`;
`xml` → `text`. Other changes, such as `bigint`, `integer` or `bytea` → `text`, rewrite the
table. When the model does not know the old type (a table from outside the migrations), a
change to `text` or unbounded `varchar` is assumed to come from `varchar`.

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
            if !is_cmd(cmd, AlterTableType::AtAlterColumnType) || !cx.is_existing_table(&table, unit) {
                continue;
            }
            let Some(NodeEnum::ColumnDef(column)) = cmd_def(cmd) else { continue };
            let new_type = column_type(column);
            let new_mods = column.type_name.as_ref().map(ast::type_mods).unwrap_or_default();
            let old = cx.changes.previous_types.get(&(unit.index, cmd.name.clone()));
            let safe = match old {
                Some(old) => is_binary_coercible(&old.type_name, &old.type_mods, &new_type, &new_mods),
                None => new_type == "text" || (new_type == "varchar" && new_mods.is_empty()),
            };
            if safe {
                continue;
            }
            let from = old.map(|o| format!(" from `{}`", spelled(&o.type_name, &o.type_mods))).unwrap_or_default();
            hits.push(Hit::at(
                unit,
                format!(
                    "changing `{table}`.`{}`{from} to `{}` rewrites the table under an ACCESS EXCLUSIVE lock",
                    cmd.name,
                    spelled(&new_type, &new_mods)
                ),
                "Add a new column, backfill it in batches, switch the code over, then drop the old column.",
            ));
        }
    }
}

/// True when PostgreSQL changes the column's type without rewriting or scanning the table:
/// the same binary representation and no narrower limit.
fn is_binary_coercible(old: &str, old_mods: &[i32], new: &str, new_mods: &[i32]) -> bool {
    // An unbounded type accepts every value of a bounded one; a bounded one accepts a
    // narrower bound only (each modifier at least the old one, and the same scale).
    let widens = |same_scale: bool| {
        new_mods.is_empty()
            || (!old_mods.is_empty()
                && new_mods.first() >= old_mods.first()
                && (!same_scale || new_mods.get(1).unwrap_or(&0) == old_mods.get(1).unwrap_or(&0)))
    };
    match (old, new) {
        _ if old == new && old_mods == new_mods => true,
        ("varchar", "text") | ("xml", "text") | ("cidr", "inet") => true,
        ("text", "varchar") => new_mods.is_empty(),
        ("varchar", "varchar") | ("varbit", "varbit") => widens(false),
        ("numeric", "numeric") => widens(true),
        _ => false,
    }
}

/// `varchar(255)`, `numeric(12,2)`, `text`.
fn spelled(type_name: &str, mods: &[i32]) -> String {
    if mods.is_empty() {
        return type_name.to_string();
    }
    let mods: Vec<String> = mods.iter().map(i32::to_string).collect();
    format!("{type_name}({})", mods.join(","))
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
