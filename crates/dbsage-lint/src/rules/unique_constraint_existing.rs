//! `unique-constraint-existing`: ADD UNIQUE / PRIMARY KEY on an existing table builds the index
//! under a lock.

use dbsage_sql::pg_query::protobuf::{self, AlterTableType, ConstrType};
use dbsage_sql::NodeEnum;

use super::{alter_table_cmds, cmd_def, is_cmd, Rule};
use crate::ast;
use crate::context::{FileContext, Hit};
use crate::finding::Severity;

pub(crate) const RULE: Rule = Rule {
    id: "unique-constraint-existing",
    severity: Severity::Warning,
    summary: "ADD UNIQUE / PRIMARY KEY constraint on an existing table without USING INDEX.",
    doc: r#"
## What it checks
`ALTER TABLE … ADD CONSTRAINT … UNIQUE (…)` or `PRIMARY KEY (…)` on a table that existed before
this file, unless it uses an existing index (`… UNIQUE USING INDEX idx`).

## Why it matters
The constraint builds its unique index while blocking writes (an ACCESS EXCLUSIVE lock for the
`ALTER TABLE`), which on a large table is an outage.

## Example
```sql
alter table users add constraint users_email_key unique (email);
```
Use instead:
```sql
-- dbsage:no-transaction
create unique index concurrently if not exists users_email_key on users (email);
-- next migration file:
alter table users add constraint users_email_key unique using index users_email_key;
```

## Fix
Build the unique index `CONCURRENTLY` first, then add the constraint `USING INDEX`. Default
severity: warning.
"#,
    check,
};

fn check(cx: &FileContext, hits: &mut Vec<Hit>) {
    for unit in cx.units {
        for (table, cmd) in alter_table_cmds(unit) {
            if !cx.is_existing_table(&table, unit) {
                continue;
            }
            // `ADD CONSTRAINT … UNIQUE`, or `ADD COLUMN x … UNIQUE / PRIMARY KEY`.
            let (constraints, column): (Vec<&protobuf::Constraint>, _) = match cmd_def(cmd) {
                Some(NodeEnum::Constraint(c)) if is_cmd(cmd, AlterTableType::AtAddConstraint) => (vec![c], None),
                Some(NodeEnum::ColumnDef(column)) if is_cmd(cmd, AlterTableType::AtAddColumn) => {
                    (ast::constraints(&column.constraints).collect(), Some(column.colname.as_str()))
                }
                _ => continue,
            };
            for c in constraints {
            let kind = if ast::is_constraint(c, ConstrType::ConstrUnique) {
                "UNIQUE"
            } else if ast::is_constraint(c, ConstrType::ConstrPrimary) {
                "PRIMARY KEY"
            } else {
                continue;
            };
            if c.indexname.is_empty() {
                hits.push(Hit::at(
                    unit,
                    format!(
                        "adding {kind} constraint{} to existing table `{table}` builds its index while blocking writes",
                        match column {
                            Some(column) => format!(" on new column `{column}`"),
                            None => super::constraint_label(c),
                        }
                    ),
                    "Create the unique index CONCURRENTLY first, then `ADD CONSTRAINT … USING INDEX`.",
                ));
            }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::rules::testing::*;

    const RULE: &str = "unique-constraint-existing";

    #[test]
    fn triggers_on_existing_table() {
        assert_eq!(run_after(RULE, &[EXISTING], "alter table t add constraint u unique (a);").len(), 1);
    }

    #[test]
    fn clean_using_index_or_on_new_table() {
        assert!(run_after(RULE, &[EXISTING], "alter table t add constraint u unique using index t_a_key;").is_empty());
        assert!(run(RULE, "create table n (a int);\nalter table n add constraint u unique (a);").is_empty());
    }
}
