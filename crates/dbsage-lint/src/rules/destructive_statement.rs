//! `destructive-statement`: statements that delete data, unless acknowledged.

use dbsage_sql::pg_query::protobuf::{self, AlterTableType, ObjectType};
use dbsage_sql::NodeEnum;

use super::{alter_table_cmds, is_cmd, Rule};
use crate::ast::{self, QualifiedName};
use crate::context::{FileContext, Hit};
use crate::finding::Severity;
use crate::parse::Unit;

pub(crate) const RULE: Rule = Rule {
    id: "destructive-statement",
    severity: Severity::Error,
    summary: "DROP TABLE / COLUMN / SCHEMA / DATABASE, TRUNCATE, DELETE or UPDATE without WHERE, not acknowledged.",
    doc: r#"
## What it checks
`DROP TABLE`, `DROP SCHEMA`, `DROP DATABASE`, `ALTER TABLE … DROP COLUMN`, `TRUNCATE`, and
`DELETE` or `UPDATE` without a `WHERE` clause, unless the statement is preceded by
`-- dbsage:destructive <reason>`. Dropping a table created earlier in the same file is fine,
and so is the backfill of a column added earlier in the file (`UPDATE t SET c = …` without
WHERE, setting only such columns): it overwrites nothing. On a large table that backfill still
writes every row in one transaction, holding their row locks until it commits: batch it by key
ranges in a `-- dbsage:no-transaction` file.

## Why it matters
These lose data, and a migration cannot be rolled back once it has run: the only way back is a
backup restore. Deploying old application code that still reads the column breaks too.
Requiring an explicit acknowledgement makes the decision visible in review.

## Example
```sql
alter table users drop column legacy_name;
```
Use instead:
```sql
-- dbsage:destructive legacy_name unused since v2.3, backed up in archive.users_legacy
alter table users drop column legacy_name;
```

## Fix
Make sure the data is not needed (or copied), that no deployed code reads it, then acknowledge
with `-- dbsage:destructive <reason>` on the line before. Default severity: error (data loss).
"#,
    check,
};

fn check(cx: &FileContext, hits: &mut Vec<Hit>) {
    for unit in cx.units {
        if cx.is_acknowledged(unit) {
            continue;
        }
        let mut report = |what: String| {
            hits.push(Hit::at(
                unit,
                format!("{what}: the data is lost and cannot be rolled back"),
                "Check the data is not needed, then acknowledge it with `-- dbsage:destructive <reason>` on the line before.",
            ))
        };
        match &unit.node {
            NodeEnum::DropStmt(d) => {
                let kind = match ObjectType::try_from(d.remove_type) {
                    Ok(ObjectType::ObjectTable) => "DROP TABLE",
                    Ok(ObjectType::ObjectSchema) => "DROP SCHEMA",
                    _ => continue,
                };
                let all_new = kind == "DROP TABLE"
                    && d.objects.iter().all(|o| {
                        QualifiedName::from_names(&ast::list_names(o)).is_some_and(|n| cx.is_new_table(&n, unit))
                    });
                if !all_new {
                    report(kind.to_string());
                }
            }
            NodeEnum::DropdbStmt(_) => report("DROP DATABASE".into()),
            NodeEnum::TruncateStmt(_) => report("TRUNCATE".into()),
            NodeEnum::DeleteStmt(d) if d.where_clause.is_none() => report("DELETE without WHERE".into()),
            NodeEnum::UpdateStmt(u) if u.where_clause.is_none() && !is_backfill(cx, unit, u) => {
                report("UPDATE without WHERE".into())
            }
            NodeEnum::AlterTableStmt(_) => {
                for (table, cmd) in alter_table_cmds(unit) {
                    if is_cmd(cmd, AlterTableType::AtDropColumn) && !cx.is_new_table(&table, unit) {
                        report(format!("DROP COLUMN `{}` on `{table}`", cmd.name));
                    }
                }
            }
            _ => {}
        }
    }
}

/// An UPDATE that only sets columns this file added earlier (or rows of a table it created)
/// fills new data: nothing that existed is overwritten.
fn is_backfill(cx: &FileContext, unit: &Unit, update: &protobuf::UpdateStmt) -> bool {
    let Some(relation) = &update.relation else { return false };
    let table = QualifiedName::of(relation);
    if cx.is_new_table(&table, unit) {
        return true;
    }
    let mut columns = update.target_list.iter().filter_map(|t| match &t.node {
        Some(NodeEnum::ResTarget(target)) => Some(target.name.as_str()),
        _ => None,
    });
    !update.target_list.is_empty()
        && columns.all(|column| cx.facts.column_added_before(&table, column, unit.index))
}

#[cfg(test)]
mod tests {
    use crate::rules::testing::*;

    const RULE: &str = "destructive-statement";

    #[test]
    fn triggers_on_data_loss() {
        for sql in [
            "drop table if exists t;",
            "drop schema s cascade;",
            "alter table t drop column a;",
            "truncate t;",
            "delete from t;",
            "update t set a = 1;",
        ] {
            assert_eq!(run_after(RULE, &[EXISTING], sql).len(), 1, "{sql}");
        }
    }

    #[test]
    fn inside_a_do_block_too() {
        assert_eq!(run(RULE, "do $$ begin delete from t; end $$;").len(), 1);
    }

    #[test]
    fn clean_when_acknowledged_filtered_or_new() {
        assert!(run(RULE, "-- dbsage:destructive replaced by t2, backed up\ndrop table t;").is_empty());
        assert!(run(RULE, "delete from t where a = 1; update t set a = 2 where b = 3;").is_empty());
        assert!(run(RULE, "create table tmp (a int);\ndrop table tmp;").is_empty());
        assert!(run(RULE, "create table t2 (a int, b int);\nalter table t2 drop column b;").is_empty());
    }

    #[test]
    fn acknowledgement_covers_only_the_next_statement() {
        let sql = "-- dbsage:destructive cleanup\ntruncate a;\ntruncate b;";
        let f = run(RULE, sql);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].line, 3);
    }
}
