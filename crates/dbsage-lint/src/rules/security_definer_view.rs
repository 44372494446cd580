//! `security-definer-view`: a view in an exposed schema that bypasses RLS.

use dbsage_sql::pg_query::protobuf::Node;
use dbsage_sql::NodeEnum;

use super::Rule;
use crate::ast::{self, QualifiedName};
use crate::context::{FileContext, Hit};
use crate::finding::Severity;

pub(crate) const RULE: Rule = Rule {
    id: "security-definer-view",
    severity: Severity::Warning,
    summary: "View in an exposed schema without security_invoker = true.",
    doc: r#"
## What it checks
`CREATE VIEW` in a schema listed in `[lint] exposed_schemas` without
`WITH (security_invoker = true)` (or an `ALTER VIEW … SET (security_invoker = true)` later in the
same file).

## Why it matters
By default a view runs with its owner's privileges, so it ignores the row level security of the
tables it reads: an API client sees every row through the view (Supabase's advisor:
`security_definer_view`). PostgreSQL 15+ supports `security_invoker`.

## Example
```sql
create or replace view public.my_notes as select * from notes;
```
Use instead:
```sql
create or replace view public.my_notes with (security_invoker = true) as select * from notes;
```

## Fix
Add `WITH (security_invoker = true)`, or move the view out of the exposed schemas. Default
severity: warning.
"#,
    check,
};

pub(crate) fn invoker_on(options: &[Node]) -> bool {
    ast::option(options, "security_invoker").is_some_and(|d| match d.arg.as_deref().and_then(|a| a.node.as_ref()) {
        None => true,
        Some(NodeEnum::Boolean(b)) => b.boolval,
        Some(NodeEnum::String(s)) => matches!(s.sval.to_ascii_lowercase().as_str(), "true" | "on" | "yes" | "1"),
        Some(NodeEnum::Integer(i)) => i.ival != 0,
        Some(NodeEnum::TypeName(t)) => matches!(ast::type_name(t).as_str(), "true" | "on"),
        _ => false,
    })
}

fn check(cx: &FileContext, hits: &mut Vec<Hit>) {
    for unit in cx.units {
        let NodeEnum::ViewStmt(v) = &unit.node else { continue };
        let Some(name) = v.view.as_ref().map(QualifiedName::of) else { continue };
        if v.view.as_ref().is_some_and(|r| r.relpersistence == "t") {
            continue;
        }
        if !cx.config.is_exposed(&name.schema) || invoker_on(&v.options) || cx.facts.invoker_set_for(&name) {
            continue;
        }
        hits.push(Hit::at(
            unit,
            format!("view `{name}` runs with its owner's privileges and bypasses row level security"),
            "Create it `WITH (security_invoker = true)`.",
        ));
    }
}

#[cfg(test)]
mod tests {
    use crate::rules::testing::*;

    const RULE: &str = "security-definer-view";

    #[test]
    fn triggers_on_default_views_in_exposed_schemas() {
        assert_eq!(run(RULE, "create or replace view v as select 1;").len(), 1);
        assert_eq!(run(RULE, "create view public.v with (security_invoker = false) as select 1;").len(), 1);
    }

    #[test]
    fn clean_with_security_invoker_or_private_schema() {
        assert!(run(RULE, "create or replace view v with (security_invoker = true) as select 1;").is_empty());
        assert!(run(RULE, "create or replace view v with (security_invoker) as select 1;").is_empty());
        assert!(run(RULE, "create or replace view private.v as select 1;").is_empty());
        assert!(run(RULE, "create or replace view v as select 1;\nalter view v set (security_invoker = on);").is_empty());
    }
}
