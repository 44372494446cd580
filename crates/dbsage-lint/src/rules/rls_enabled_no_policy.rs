//! `rls-enabled-no-policy`: RLS enabled but no policy, so every API query returns nothing.

use super::Rule;
use crate::context::{FileContext, Hit};
use crate::finding::Severity;

pub(crate) const RULE: Rule = Rule {
    id: "rls-enabled-no-policy",
    severity: Severity::Warning,
    summary: "Row level security enabled on a table that has no policy at the end of the file.",
    doc: r#"
## What it checks
A table on which this file enables row level security (or a table this file creates with RLS)
that has no policy by the end of the file.

## Why it matters
With RLS on and no policy, every query by a non-owner role silently returns no rows and every
write fails: "silent denial", the most reported RLS pain, with nothing saying why.

## Example
```sql
create table if not exists notes (id bigint primary key, owner uuid, body text);
alter table notes enable row level security;
```
Use instead:
```sql
create table if not exists notes (id bigint primary key, owner uuid, body text);
alter table notes enable row level security;
drop policy if exists "owners read" on notes;
create policy "owners read" on notes for select to authenticated
  using ((select auth.uid()) = owner);
```

## Fix
Add the policies in the same file. If the table must be reachable only by the service role,
say so with `-- dbsage:ignore rls-enabled-no-policy service role only`. Default severity: warning.
"#,
    check,
};

fn check(cx: &FileContext, hits: &mut Vec<Hit>) {
    let mut seen = Vec::new();
    for (name, offset, len) in &cx.changes.rls_enabled {
        if seen.contains(&name) {
            continue;
        }
        seen.push(name);
        let Some(table) = cx.model.table(name) else { continue };
        if table.rls && table.policies.is_empty() {
            hits.push(Hit::span(
                *offset,
                *len,
                format!("row level security is enabled on `{name}` but it has no policy: every non-owner query returns nothing"),
                format!("Add `CREATE POLICY … ON {name} …` in this file."),
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::rules::testing::*;

    const RULE: &str = "rls-enabled-no-policy";

    #[test]
    fn triggers_without_policy() {
        assert_eq!(run(RULE, "create table t (a int);\nalter table t enable row level security;").len(), 1);
        // An existing table, RLS enabled now, no policy.
        assert_eq!(run_after(RULE, &[EXISTING], "alter table t enable row level security;").len(), 1);
    }

    #[test]
    fn clean_with_policy_in_the_same_file() {
        let sql = "create table t (a int);\nalter table t enable row level security;\ncreate policy p on t for select using (true);";
        assert!(run(RULE, sql).is_empty());
        let guarded = "create table t (a int);\nalter table t enable row level security;\ndo $$ begin if not exists (select 1 from pg_policies where policyname = 'p') then create policy p on t using (true); end if; end $$;";
        assert!(run(RULE, guarded).is_empty());
    }

    #[test]
    fn a_policy_dropped_again_does_not_count() {
        let sql = "create table t (a int);\nalter table t enable row level security;\ncreate policy p on t using (true);\ndrop policy p on t;";
        assert_eq!(run(RULE, sql).len(), 1);
    }
}
