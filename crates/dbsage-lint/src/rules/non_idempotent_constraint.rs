//! `non-idempotent-constraint`: ADD CONSTRAINT that fails when run twice.

use dbsage_sql::pg_query::protobuf::AlterTableType;
use dbsage_sql::NodeEnum;

use super::{alter_table_cmds, cmd_def, is_cmd, Rule};
use crate::context::{FileContext, Hit};
use crate::finding::Severity;

pub(crate) const RULE: Rule = Rule {
    id: "non-idempotent-constraint",
    severity: Severity::Warning,
    summary: "ALTER TABLE … ADD CONSTRAINT without a guard or a preceding DROP CONSTRAINT IF EXISTS.",
    doc: r#"
## What it checks
`ALTER TABLE t ADD CONSTRAINT c …` that is neither inside a guarded DO block nor preceded in
the same file by `ALTER TABLE t DROP CONSTRAINT IF EXISTS c`. PostgreSQL has no
`ADD CONSTRAINT IF NOT EXISTS`.

## Why it matters
Re-running the migration fails with `constraint "c" for relation "t" already exists` (or, for
an unnamed constraint, silently adds a duplicate).

## Example
```sql
alter table orders add constraint orders_total_positive check (total >= 0);
```
Use instead:
```sql
do $$ begin
  if not exists (select 1 from pg_constraint where conname = 'orders_total_positive') then
    alter table orders add constraint orders_total_positive check (total >= 0);
  end if;
end $$;
```

## Fix
Guard it with a `pg_constraint` check in a DO block, or drop it first with
`DROP CONSTRAINT IF EXISTS`. Default severity: warning.
"#,
    check,
};

fn check(cx: &FileContext, hits: &mut Vec<Hit>) {
    for unit in cx.units {
        for (i, (table, cmd)) in alter_table_cmds(unit).into_iter().enumerate() {
            if unit.guarded
                || !(is_cmd(cmd, AlterTableType::AtAddConstraint) || is_cmd(cmd, AlterTableType::AtAddIndexConstraint))
            {
                continue;
            }
            let Some(NodeEnum::Constraint(constraint)) = cmd_def(cmd) else { continue };
            if cx.facts.constraint_dropped_before(&table, &constraint.conname, (unit.index, i)) {
                continue;
            }
            let name = if constraint.conname.is_empty() {
                "an unnamed constraint".to_string()
            } else {
                format!("constraint `{}`", constraint.conname)
            };
            hits.push(Hit::at(
                unit,
                format!("adding {name} to `{table}` fails (or duplicates it) when the migration runs again"),
                "Guard it with `IF NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conname = '…')` in a DO block, or `DROP CONSTRAINT IF EXISTS` first.",
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::rules::testing::*;

    const RULE: &str = "non-idempotent-constraint";

    #[test]
    fn triggers_on_plain_add_constraint() {
        assert_eq!(run(RULE, "alter table t add constraint c check (b > 0);").len(), 1);
        assert_eq!(run(RULE, "alter table t add check (b > 0);").len(), 1);
    }

    #[test]
    fn clean_when_guarded_or_dropped_first() {
        let guarded = "do $$ begin\n if not exists (select 1 from pg_constraint where conname = 'c') then\n alter table t add constraint c check (b > 0);\n end if;\nend $$;";
        assert!(run(RULE, guarded).is_empty());
        assert!(run(RULE, "alter table t drop constraint if exists c;\nalter table t add constraint c check (b > 0);").is_empty());
    }
}
