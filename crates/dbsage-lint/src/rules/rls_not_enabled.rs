//! `rls-not-enabled`: a new table in an exposed schema without row level security.

use super::Rule;
use crate::context::{FileContext, Hit};
use crate::finding::Severity;

pub(crate) const RULE: Rule = Rule {
    id: "rls-not-enabled",
    severity: Severity::Warning,
    summary: "A table in an exposed schema without ENABLE ROW LEVEL SECURITY by the end of its file.",
    doc: r#"
## What it checks
Each table created in a schema listed in `[lint] exposed_schemas` (default `["public"]`) must have
`ALTER TABLE … ENABLE ROW LEVEL SECURITY` by the end of the file that creates it (each file is
deployed on its own).

## Why it matters
With Supabase/PostgREST, every table in an exposed schema is reachable by `anon` and
`authenticated` through the API; without RLS, the default grants let anyone read and write every
row. This is the most common data leak in such projects.

## Example
```sql
create table if not exists public.notes (id bigint primary key, body text);
```
Use instead:
```sql
create table if not exists public.notes (id bigint primary key, body text);
alter table public.notes enable row level security;
```

## Fix
Enable RLS in the same file, then add policies. For a schema that is not exposed, list only the
exposed ones in `[lint] exposed_schemas`. Default severity: warning (it does not fail; it leaks).
"#,
    check,
};

fn check(cx: &FileContext, hits: &mut Vec<Hit>) {
    for (name, table) in cx.new_tables() {
        if cx.config.is_exposed(&name.schema) && !table.rls {
            hits.push(Hit::span(
                table.created_at.0,
                table.created_at.1,
                format!("table `{name}` is in exposed schema `{}` but row level security is not enabled in this file", name.schema),
                format!("Add `ALTER TABLE {name} ENABLE ROW LEVEL SECURITY;` and policies in this file."),
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::rules::testing::*;
    use crate::LintConfig;

    const RULE: &str = "rls-not-enabled";

    #[test]
    fn triggers_for_new_exposed_table_without_rls() {
        assert_eq!(run(RULE, "create table t (a int);").len(), 1);
        // RLS enabled only in a later file does not count.
        assert_eq!(
            run_after(RULE, &["create table t (a int);"], "alter table t enable row level security;").len(),
            0,
            "the later file creates nothing"
        );
    }

    #[test]
    fn clean_with_rls_or_outside_exposed_schemas() {
        assert!(run(RULE, "create table t (a int);\nalter table t enable row level security;").is_empty());
        assert!(run(RULE, "create table private.t (a int);").is_empty());
        assert!(run(RULE, "create temp table t (a int);").is_empty());
        let config = LintConfig {
            exposed_schemas: vec!["api".into()],
            ..LintConfig::default()
        };
        assert!(run_with(RULE, &[], "create table t (a int);", &config).is_empty());
        assert_eq!(run_with(RULE, &[], "create table api.t (a int);", &config).len(), 1);
    }

    #[test]
    fn rls_enabled_in_a_guarded_do_block_counts() {
        let sql = "create table t (a int);\ndo $$ begin if not exists (select 1 from pg_class where relname = 't' and relrowsecurity) then alter table t enable row level security; end if; end $$;";
        assert!(run(RULE, sql).is_empty());
    }
}
