//! `rename-breaks-clients`: renaming a table or column that clients use.

use dbsage_sql::pg_query::protobuf::ObjectType;
use dbsage_sql::NodeEnum;

use super::Rule;
use crate::ast::QualifiedName;
use crate::context::{FileContext, Hit};
use crate::finding::Severity;

pub(crate) const RULE: Rule = Rule {
    id: "rename-breaks-clients",
    severity: Severity::Warning,
    summary: "RENAME of an existing table, view or column.",
    doc: r#"
## What it checks
`ALTER TABLE … RENAME TO`, `ALTER TABLE … RENAME COLUMN` and `ALTER VIEW … RENAME` on a relation
that existed before this file.

## Why it matters
The application version running during and right after the deploy still uses the old name, and
fails until it is replaced; API clients (PostgREST) break immediately.

## Example
```sql
alter table users rename column name to full_name;
```
Use instead:
```sql
alter table users add column if not exists full_name text;
-- backfill, write both columns from the application, switch readers, then drop the old column
```

## Fix
Expand and contract: add the new name, migrate code to it, then remove the old one (a view with
the old name can bridge the gap). Default severity: warning.
"#,
    check,
};

fn check(cx: &FileContext, hits: &mut Vec<Hit>) {
    for unit in cx.units {
        let NodeEnum::RenameStmt(r) = &unit.node else { continue };
        let Some(relation) = r.relation.as_ref().map(QualifiedName::of) else { continue };
        let what = match ObjectType::try_from(r.rename_type) {
            Ok(ObjectType::ObjectTable) => format!("renaming table `{relation}`"),
            Ok(ObjectType::ObjectView | ObjectType::ObjectMatview) => format!("renaming view `{relation}`"),
            Ok(ObjectType::ObjectColumn) => format!("renaming column `{relation}`.`{}`", r.subname),
            _ => continue,
        };
        if cx.is_existing_table(&relation, unit) {
            hits.push(Hit::at(
                unit,
                format!("{what} breaks every client still using the old name"),
                "Expand and contract: add the new name, move clients over, then drop the old one.",
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::rules::testing::*;

    const RULE: &str = "rename-breaks-clients";

    #[test]
    fn triggers_on_existing_relations() {
        assert_eq!(run_after(RULE, &[EXISTING], "alter table t rename column a to c;").len(), 1);
        assert_eq!(run_after(RULE, &[EXISTING], "alter table t rename to t2;").len(), 1);
    }

    #[test]
    fn clean_on_new_table() {
        assert!(run(RULE, "create table n (a int);\nalter table n rename column a to b;").is_empty());
    }
}
