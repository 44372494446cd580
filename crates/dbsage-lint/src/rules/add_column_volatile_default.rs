//! `add-column-volatile-default`: ADD COLUMN with a volatile default rewrites the table.

use dbsage_sql::pg_query::protobuf::{AlterTableType, ColumnDef, ConstrType};
use dbsage_sql::NodeEnum;

use super::{alter_table_cmds, cmd_def, is_cmd, Rule};
use crate::ast;
use crate::context::{FileContext, Hit};
use crate::finding::Severity;

pub(crate) const RULE: Rule = Rule {
    id: "add-column-volatile-default",
    severity: Severity::Warning,
    summary: "ADD COLUMN with a volatile DEFAULT (random(), gen_random_uuid(), clock_timestamp()…) on an existing table.",
    doc: r#"
## What it checks
`ALTER TABLE … ADD COLUMN … DEFAULT <expr>` on a table that existed before this file, where
`<expr>` calls a volatile function such as `gen_random_uuid()`, `random()`,
`clock_timestamp()`, `uuid_generate_v4()`, `nextval()` or a function the migrations created
VOLATILE (the default when a function says nothing); also `GENERATED … STORED`, identity and
`serial` columns, which are computed for every existing row.

## Why it matters
Since PostgreSQL 11 a constant (or stable, like `now()`) default is stored once and the column
is added instantly (with a target version before 11, any default is reported). A volatile default must be computed for every existing row: the whole table
is rewritten under an ACCESS EXCLUSIVE lock.

## Example
```sql
alter table orders add column public_id uuid not null default gen_random_uuid();
```
Use instead:
```sql
alter table orders add column if not exists public_id uuid;
alter table orders alter column public_id set default gen_random_uuid();
-- backfill existing rows in batches, then SET NOT NULL (see set-not-null-existing)
```

## Fix
Add the column without a default, set the default in a second statement (affects new rows
only), and backfill in batches. Default severity: warning.
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
            let defaults = column.raw_default.as_deref().into_iter().chain(
                ast::constraints(&column.constraints)
                    .filter(|c| ast::is_constraint(c, ConstrType::ConstrDefault))
                    .filter_map(|c| c.raw_expr.as_deref()),
            );
            let defaults: Vec<_> = defaults.collect();
            let mut volatile = None;
            for &default in &defaults {
                ast::walk_expression(default, &mut |node| {
                    if let NodeEnum::FuncCall(call) = node {
                        let name = ast::function_name(call);
                        if ast::VOLATILE_FUNCTIONS.contains(&name.as_str()) || cx.model.is_volatile_function(&name) {
                            volatile.get_or_insert(name);
                        }
                    }
                    true
                });
            }
            if let Some(function) = volatile {
                hits.push(Hit::at(
                    unit,
                    format!("DEFAULT {function}() is volatile: adding `{}` rewrites `{table}` under an exclusive lock", column.colname),
                    "Add the column without a default, then `ALTER COLUMN … SET DEFAULT …`, and backfill in batches.",
                ));
            } else if !cx.targets_at_least(11) && defaults.iter().any(|d| !is_null_constant(d)) {
                hits.push(Hit::at(
                    unit,
                    format!("before PostgreSQL 11 any DEFAULT is written to every row: adding `{}` rewrites `{table}` under an exclusive lock", column.colname),
                    "Add the column without a default, then `ALTER COLUMN … SET DEFAULT …`, and backfill in batches.",
                ));
            } else if let Some(what) = computed_for_every_row(column) {
                hits.push(Hit::at(
                    unit,
                    format!("{what}: adding `{}` rewrites `{table}` under an exclusive lock", column.colname),
                    "Add a plain column, fill it in batches (a trigger keeps new rows in step), then switch readers over.",
                ));
            }
        }
    }
}

fn is_null_constant(node: &dbsage_sql::pg_query::protobuf::Node) -> bool {
    matches!(&node.node, Some(NodeEnum::AConst(c)) if c.isnull)
}

/// A stored generated column, an identity column or a serial type is filled row by row.
fn computed_for_every_row(column: &ColumnDef) -> Option<&'static str> {
    if let Some(t) = &column.type_name {
        let type_name = ast::type_name(t);
        if SERIAL_TYPES.contains(&type_name.as_str()) {
            return Some("a serial column takes nextval() for every row");
        }
    }
    let constraints = ast::constraints(&column.constraints);
    for c in constraints {
        if ast::is_constraint(c, ConstrType::ConstrGenerated) && c.generated_kind != "v" {
            return Some("GENERATED … STORED is computed for every existing row");
        }
        if ast::is_constraint(c, ConstrType::ConstrIdentity) {
            return Some("an identity column takes a value for every existing row");
        }
    }
    None
}

const SERIAL_TYPES: &[&str] = &["serial", "serial4", "serial8", "bigserial", "smallserial", "serial2"];

#[cfg(test)]
mod tests {
    use crate::rules::testing::*;

    const RULE: &str = "add-column-volatile-default";

    #[test]
    fn triggers_on_volatile_default() {
        assert_eq!(run_after(RULE, &[EXISTING], "alter table t add column u uuid default gen_random_uuid();").len(), 1);
        assert_eq!(run_after(RULE, &[EXISTING], "alter table t add column r float default random() * 10;").len(), 1);
    }

    #[test]
    fn any_default_before_11() {
        let sql = "alter table t add column c text default 'x';";
        let on = |major| run_with(RULE, &[EXISTING], sql, &crate::LintConfig { target_major: Some(major), ..Default::default() });
        assert_eq!(on(10).len(), 1);
        assert!(on(11).is_empty());
    }

    #[test]
    fn clean_on_constant_or_stable_default_or_new_table() {
        assert!(run_after(RULE, &[EXISTING], "alter table t add column c timestamptz default now();").is_empty());
        assert!(run_after(RULE, &[EXISTING], "alter table t add column c text default 'x';").is_empty());
        assert!(run(RULE, "create table n (a int);\nalter table n add column u uuid default gen_random_uuid();").is_empty());
    }
}
