//! `foreign-key-without-on-delete`: a foreign key that does not say what happens on delete.

use dbsage_sql::pg_query::protobuf::ConstrType;

use super::{absolute_location, added_constraints, element_text, Rule};
use crate::ast;
use crate::context::{FileContext, Hit};
use crate::finding::Severity;

pub(crate) const RULE: Rule = Rule {
    id: "foreign-key-without-on-delete",
    severity: Severity::Warning,
    summary: "Foreign key without an explicit ON DELETE action.",
    doc: r#"
## What it checks
`REFERENCES …` (column or table constraint, in CREATE TABLE or ALTER TABLE) without an
`ON DELETE` clause.

## Why it matters
The default, `NO ACTION`, makes deleting a referenced row fail as long as children exist. That
is sometimes right, but usually it was not decided: account deletion then fails in production,
or someone later adds a cascading delete without review. Writing the action makes the decision
visible (`CASCADE`, `SET NULL`, `RESTRICT` or an explicit `NO ACTION`).

## Example
```sql
alter table orders add constraint orders_user_fk foreign key (user_id) references users (id);
```
Use instead:
```sql
alter table orders add constraint orders_user_fk foreign key (user_id) references users (id)
  on delete cascade not valid;
```

## Fix
Add `ON DELETE CASCADE | SET NULL | RESTRICT | NO ACTION`. Default severity: warning.
"#,
    check,
};

fn check(cx: &FileContext, hits: &mut Vec<Hit>) {
    for unit in cx.units {
        for constraint in added_constraints(unit) {
            if !ast::is_constraint(constraint, ConstrType::ConstrForeign) {
                continue;
            }
            let at = absolute_location(unit, constraint.location);
            let written = element_text(cx, unit, at).to_ascii_lowercase();
            // The tree encodes an omitted action and an explicit NO ACTION alike ('a').
            if constraint.fk_del_action != "a" || written.contains("on delete") {
                continue;
            }
            let target = constraint
                .pktable
                .as_ref()
                .map(|t| crate::ast::QualifiedName::of(t).to_string())
                .unwrap_or_default();
            hits.push(Hit::span(
                at,
                0,
                format!("foreign key to `{target}` does not say what happens when the referenced row is deleted"),
                "Add `ON DELETE CASCADE`, `SET NULL`, `RESTRICT` or an explicit `NO ACTION`.",
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::rules::testing::*;

    const RULE: &str = "foreign-key-without-on-delete";

    #[test]
    fn triggers_without_on_delete() {
        assert_eq!(run(RULE, "create table c (id int, p_id int references p (id));").len(), 1);
        assert_eq!(run(RULE, "alter table c add constraint f foreign key (p_id) references p (id) on update cascade;").len(), 1);
        // One of two keys lacks it.
        let sql = "create table c (a int references p (id) on delete cascade, b int references q (id));";
        assert_eq!(run(RULE, sql).len(), 1);
    }

    #[test]
    fn clean_with_any_explicit_action() {
        for action in ["cascade", "set null", "restrict", "no action", "set default"] {
            let sql = format!("create table c (id int, p_id int references p (id) on delete {action});");
            assert!(run(RULE, &sql).is_empty(), "{action}");
        }
        let sql = "create table c (id int, p_id int, foreign key (p_id) references p (id) on delete cascade);";
        assert!(run(RULE, sql).is_empty());
    }
}
