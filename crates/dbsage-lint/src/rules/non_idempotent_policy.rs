//! `non-idempotent-policy`: CREATE POLICY without a preceding DROP POLICY IF EXISTS.

use dbsage_sql::NodeEnum;

use super::Rule;
use crate::ast::QualifiedName;
use crate::context::{FileContext, Hit};
use crate::finding::Severity;

pub(crate) const RULE: Rule = Rule {
    id: "non-idempotent-policy",
    severity: Severity::Warning,
    summary: "CREATE POLICY without a preceding DROP POLICY IF EXISTS.",
    doc: r#"
## What it checks
`CREATE POLICY p ON t` that is not preceded, in the same file, by `DROP POLICY IF EXISTS p ON t`
(and is not inside a guarded DO block). PostgreSQL has no `CREATE POLICY IF NOT EXISTS`.

## Why it matters
Re-running the migration fails with `policy "p" for table "t" already exists`. Dropping first
also makes a changed policy definition take effect when the file is re-applied.

## Example
```sql
create policy "owner reads" on orders for select using ((select auth.uid()) = user_id);
```
Use instead:
```sql
drop policy if exists "owner reads" on orders;
create policy "owner reads" on orders for select using ((select auth.uid()) = user_id);
```

## Fix
Precede it with `DROP POLICY IF EXISTS <name> ON <table>;`. Default severity: warning.
"#,
    check,
};

fn check(cx: &FileContext, hits: &mut Vec<Hit>) {
    for unit in cx.units {
        match &unit.node {
            NodeEnum::CreatePolicyStmt(p) if !unit.guarded => {
                let Some(table) = p.table.as_ref().map(QualifiedName::of) else { continue };
                let is_dropped = cx.facts.policy_dropped_before(&table, &p.policy_name, unit.index);
                if !is_dropped {
                    hits.push(Hit::at(
                        unit,
                        format!("CREATE POLICY \"{}\" on `{table}` fails if the policy already exists", p.policy_name),
                        format!("Precede it with `DROP POLICY IF EXISTS \"{}\" ON {table};`.", p.policy_name),
                    ));
                }
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::rules::testing::*;

    const RULE: &str = "non-idempotent-policy";

    #[test]
    fn triggers_without_drop() {
        assert_eq!(run(RULE, "create policy p on t using (true);").len(), 1);
        // A drop of another policy does not count.
        assert_eq!(run(RULE, "drop policy if exists q on t; create policy p on t using (true);").len(), 1);
    }

    #[test]
    fn clean_with_drop_if_exists_or_guard() {
        assert!(run(RULE, "drop policy if exists p on t;\ncreate policy p on t using (true);").is_empty());
        let guarded = "do $$ begin if not exists (select 1 from pg_policies where policyname = 'p') then create policy p on t using (true); end if; end $$;";
        assert!(run(RULE, guarded).is_empty());
    }
}
