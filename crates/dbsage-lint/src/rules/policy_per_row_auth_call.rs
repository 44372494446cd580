//! `policy-per-row-auth-call`: auth.uid() & co. evaluated once per row in a policy.

use dbsage_sql::NodeEnum;

use super::Rule;
use crate::ast;
use crate::context::{FileContext, Hit};
use crate::finding::Severity;

pub(crate) const RULE: Rule = Rule {
    id: "policy-per-row-auth-call",
    severity: Severity::Warning,
    summary: "auth.uid() / auth.jwt() / current_setting() in a policy, not wrapped as (select …).",
    doc: r#"
## What it checks
Calls to `auth.uid()`, `auth.jwt()`, `auth.role()`, `auth.email()` or `current_setting()` in a
policy's `USING` or `WITH CHECK` expression that are not wrapped in a scalar subquery
`(select auth.uid())`.

## Why it matters
A bare call is evaluated for every row the query scans; wrapped in `(select …)` PostgreSQL
evaluates it once per statement (an initPlan). On large tables the difference is orders of
magnitude (Supabase's advisor reports it as `auth_rls_initplan`).

## Example
```sql
create policy "owners read" on notes for select using (auth.uid() = owner);
```
Use instead:
```sql
create policy "owners read" on notes for select using ((select auth.uid()) = owner);
```

## Fix
Wrap the call: `(select auth.uid())`. Default severity: warning.
"#,
    check,
};

const PER_ROW_CALLS: &[&str] = &[
    "auth.uid",
    "auth.jwt",
    "auth.role",
    "auth.email",
    "current_setting",
    "pg_catalog.current_setting",
];

fn check(cx: &FileContext, hits: &mut Vec<Hit>) {
    for unit in cx.units {
        let (qual, with_check) = match &unit.node {
            NodeEnum::CreatePolicyStmt(p) => (p.qual.as_deref(), p.with_check.as_deref()),
            NodeEnum::AlterPolicyStmt(p) => (p.qual.as_deref(), p.with_check.as_deref()),
            _ => continue,
        };
        let mut calls = Vec::new();
        for expression in qual.into_iter().chain(with_check) {
            ast::walk_expression(expression, &mut |node| match node {
                // Inside a subquery the call is already evaluated once.
                NodeEnum::SubLink(_) => false,
                NodeEnum::FuncCall(call) => {
                    let name = ast::function_name(call);
                    if PER_ROW_CALLS.contains(&name.as_str()) {
                        calls.push(name);
                    }
                    true
                }
                _ => true,
            });
        }
        calls.dedup();
        for name in calls {
            hits.push(Hit::at(
                unit,
                format!("`{name}()` in this policy is evaluated once per row"),
                format!("Wrap it as `(select {name}())` so it is evaluated once per statement."),
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::rules::testing::*;

    const RULE: &str = "policy-per-row-auth-call";

    #[test]
    fn triggers_on_bare_calls() {
        assert_eq!(run(RULE, "create policy p on t using (auth.uid() = owner);").len(), 1);
        assert_eq!(
            run(RULE, "create policy p on t for insert with check (owner = current_setting('app.user')::uuid);").len(),
            1
        );
        assert_eq!(run(RULE, "alter policy p on t using ((auth.jwt() ->> 'role') = 'admin');").len(), 1);
    }

    #[test]
    fn clean_when_wrapped() {
        assert!(run(RULE, "create policy p on t using ((select auth.uid()) = owner);").is_empty());
        assert!(run(RULE, "create policy p on t using (owner in (select id from users where uid = auth.uid()));").is_empty());
        assert!(run(RULE, "create policy p on t using (true);").is_empty());
    }
}
