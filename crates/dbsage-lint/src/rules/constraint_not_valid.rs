//! `constraint-not-valid`: FK / CHECK added to an existing table without NOT VALID.

use dbsage_sql::pg_query::protobuf::{AlterTableType, ConstrType};
use dbsage_sql::NodeEnum;

use super::{alter_table_cmds, cmd_def, is_cmd, Rule};
use crate::ast;
use crate::context::{FileContext, Hit};
use crate::finding::Severity;

pub(crate) const RULE: Rule = Rule {
    id: "constraint-not-valid",
    severity: Severity::Warning,
    summary: "FOREIGN KEY or CHECK constraint added to an existing table without NOT VALID.",
    doc: r#"
## What it checks
`ALTER TABLE … ADD CONSTRAINT … FOREIGN KEY`, `CHECK` or (PostgreSQL 18) `NOT NULL col` without
`NOT VALID` on a table that existed before this file.

## Why it matters
Adding the constraint validates every row while holding a lock that blocks writes (and, for a
foreign key, a lock on the referenced table too). `NOT VALID` adds it instantly for new rows;
`VALIDATE CONSTRAINT` later checks old rows under a lock that lets writes through.

## Example
```sql
alter table orders add constraint orders_user_fk foreign key (user_id) references users (id) on delete cascade;
```
Use instead:
```sql
alter table orders add constraint orders_user_fk foreign key (user_id) references users (id)
  on delete cascade not valid;
-- in the next migration file:
alter table orders validate constraint orders_user_fk;
```

## Fix
Add `NOT VALID`, then `VALIDATE CONSTRAINT` in a later migration. Default severity: warning.
"#,
    check,
};

fn check(cx: &FileContext, hits: &mut Vec<Hit>) {
    for unit in cx.units {
        for (table, cmd) in alter_table_cmds(unit) {
            if !is_cmd(cmd, AlterTableType::AtAddConstraint) || !cx.is_existing_table(&table, unit) {
                continue;
            }
            let Some(NodeEnum::Constraint(c)) = cmd_def(cmd) else { continue };
            let kind = if ast::is_constraint(c, ConstrType::ConstrForeign) {
                "FOREIGN KEY"
            } else if ast::is_constraint(c, ConstrType::ConstrCheck) {
                "CHECK"
            } else if ast::is_constraint(c, ConstrType::ConstrNotnull) && !c.keys.is_empty() {
                // `ADD CONSTRAINT … NOT NULL col` (PostgreSQL 18): NOT VALID works there too.
                "NOT NULL"
            } else {
                continue;
            };
            if !c.skip_validation {
                hits.push(Hit::at(
                    unit,
                    format!("adding {kind} constraint{} to existing table `{table}` scans it while blocking writes", super::constraint_label(c)),
                    "Add it `NOT VALID`, then `VALIDATE CONSTRAINT` in a later migration.",
                ));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::rules::testing::*;

    const RULE: &str = "constraint-not-valid";

    #[test]
    fn triggers_on_existing_table() {
        assert_eq!(run_after(RULE, &[EXISTING], "alter table t add constraint c check (b > 0);").len(), 1);
        assert_eq!(
            run_after(RULE, &[EXISTING], "alter table t add constraint f foreign key (b) references p (id) on delete cascade;").len(),
            1
        );
    }

    #[test]
    fn not_null_table_constraint_of_18() {
        assert_eq!(run_after(RULE, &[EXISTING], "alter table t add constraint t_a_nn not null a;").len(), 1);
        assert!(run_after(RULE, &[EXISTING], "alter table t add constraint t_a_nn not null a not valid;").is_empty());
    }

    #[test]
    fn clean_with_not_valid_or_new_table() {
        assert!(run_after(RULE, &[EXISTING], "alter table t add constraint c check (b > 0) not valid;").is_empty());
        assert!(run(RULE, "create table n (b int);\nalter table n add constraint c check (b > 0);").is_empty());
    }

    #[test]
    fn guarded_do_block_still_locks() {
        let sql = "do $$ begin if not exists (select 1 from pg_constraint where conname = 'c') then alter table t add constraint c check (b > 0); end if; end $$;";
        assert_eq!(run_after(RULE, &[EXISTING], sql).len(), 1);
    }
}
