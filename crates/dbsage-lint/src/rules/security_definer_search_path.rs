//! `security-definer-search-path`: SECURITY DEFINER function without a fixed search_path.

use dbsage_sql::NodeEnum;

use super::Rule;
use crate::ast;
use crate::context::{FileContext, Hit};
use crate::finding::Severity;

pub(crate) const RULE: Rule = Rule {
    id: "security-definer-search-path",
    severity: Severity::Warning,
    summary: "SECURITY DEFINER function without SET search_path.",
    doc: r#"
## What it checks
`CREATE FUNCTION … SECURITY DEFINER` without a `SET search_path = …` clause (and without an
`ALTER FUNCTION … SET search_path` for it later in the same file).

## Why it matters
A security definer function runs with its owner's privileges, but resolves unqualified names
through the caller's `search_path`: a caller who can create objects in a schema on that path can
make the function call their code as the owner (CVE-2018-1058 class). Supabase's advisor
reports it as `function_search_path_mutable`.

## Example
```sql
create or replace function public.is_admin() returns boolean
language sql security definer as $$ select exists (select 1 from admins where id = auth.uid()) $$;
```
Use instead:
```sql
create or replace function public.is_admin() returns boolean
language sql security definer set search_path = '' as
$$ select exists (select 1 from public.admins where id = (select auth.uid())) $$;
```

## Fix
Add `SET search_path = ''` (and schema-qualify names in the body), or a fixed list such as
`SET search_path = public, pg_temp`. Default severity: warning.
"#,
    check,
};

pub(crate) fn sets_search_path(options: &[dbsage_sql::pg_query::protobuf::Node]) -> bool {
    options.iter().any(|o| match &o.node {
        Some(NodeEnum::DefElem(d)) if d.defname == "set" => matches!(
            d.arg.as_deref().and_then(|a| a.node.as_ref()),
            Some(NodeEnum::VariableSetStmt(v)) if v.name.eq_ignore_ascii_case("search_path")
        ),
        Some(NodeEnum::VariableSetStmt(v)) => v.name.eq_ignore_ascii_case("search_path"),
        _ => false,
    })
}

fn check(cx: &FileContext, hits: &mut Vec<Hit>) {
    for unit in cx.units {
        let NodeEnum::CreateFunctionStmt(f) = &unit.node else { continue };
        let definer = ast::option(&f.options, "security").is_some_and(|d| {
            matches!(d.arg.as_deref().and_then(|a| a.node.as_ref()), Some(NodeEnum::Boolean(b)) if b.boolval)
        });
        if !definer || sets_search_path(&f.options) {
            continue;
        }
        let name = ast::strings(&f.funcname).join(".");
        if cx.facts.search_path_set_for(&name) {
            continue;
        }
        hits.push(Hit::at(
            unit,
            format!("SECURITY DEFINER function `{name}` does not set search_path: callers can redirect the names it uses"),
            "Add `SET search_path = ''` to the function and schema-qualify the names in its body.",
        ));
    }
}

#[cfg(test)]
mod tests {
    use crate::rules::testing::*;

    const RULE: &str = "security-definer-search-path";

    #[test]
    fn triggers_without_search_path() {
        let sql = "create or replace function f() returns int language sql security definer as $$ select 1 $$;";
        assert_eq!(run(RULE, sql).len(), 1);
    }

    #[test]
    fn clean_with_search_path_or_invoker() {
        assert!(run(RULE, "create or replace function f() returns int language sql security definer set search_path = '' as $$ select 1 $$;").is_empty());
        assert!(run(RULE, "create or replace function f() returns int language sql as $$ select 1 $$;").is_empty());
        let altered = "create or replace function f() returns int language sql security definer as $$ select 1 $$;\nalter function f() set search_path = public;";
        assert!(run(RULE, altered).is_empty());
    }
}
