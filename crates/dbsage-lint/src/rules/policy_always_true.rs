//! `policy-always-true`: write policies that allow everything to client roles.

use dbsage_sql::pg_query::protobuf::RoleSpecType;
use dbsage_sql::NodeEnum;

use super::Rule;
use crate::ast;
use crate::context::{FileContext, Hit};
use crate::finding::Severity;

pub(crate) const RULE: Rule = Rule {
    id: "policy-always-true",
    severity: Severity::Warning,
    summary: "USING (true) / WITH CHECK (true) on a write policy for anon, authenticated or public.",
    doc: r#"
## What it checks
A policy for `INSERT`, `UPDATE`, `DELETE` or `ALL` whose `USING` or `WITH CHECK` is the constant
`true` and that applies to a client role (`[lint] client_roles`, default `anon`,
`authenticated`, `public`; a policy without `TO` applies to `public`).

## Why it matters
It lets any API client write any row: RLS is on, but it checks nothing. Read-only `SELECT … USING
(true)` for public data is common and not reported.

## Example
```sql
create policy "anyone updates" on profiles for update to authenticated using (true);
```
Use instead:
```sql
create policy "owners update" on profiles for update to authenticated
  using ((select auth.uid()) = id) with check ((select auth.uid()) = id);
```

## Fix
Restrict the rows with a real condition, or the roles with `TO service_role`. Default severity:
warning.
"#,
    check,
};

fn check(cx: &FileContext, hits: &mut Vec<Hit>) {
    for unit in cx.units {
        let NodeEnum::CreatePolicyStmt(p) = &unit.node else { continue };
        if p.cmd_name.eq_ignore_ascii_case("select") {
            continue;
        }
        let always_true = p.qual.as_deref().is_some_and(ast::is_true_constant)
            || p.with_check.as_deref().is_some_and(ast::is_true_constant);
        if !always_true {
            continue;
        }
        let client_role = p.roles.is_empty()
            || p.roles.iter().any(|r| match &r.node {
                Some(NodeEnum::RoleSpec(role)) => {
                    role.roletype == RoleSpecType::RolespecPublic as i32 || cx.config.is_client_role(&role.rolename)
                }
                _ => false,
            });
        if client_role {
            hits.push(Hit::at(
                unit,
                format!(
                    "policy \"{}\" lets clients {} any row: its condition is `true`",
                    p.policy_name,
                    if p.cmd_name.is_empty() { "all" } else { &p.cmd_name }
                ),
                "Use a condition on the row (e.g. `(select auth.uid()) = owner_id`) or restrict the policy to a trusted role.",
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::rules::testing::*;

    const RULE: &str = "policy-always-true";

    #[test]
    fn triggers_on_open_write_policies() {
        assert_eq!(run(RULE, "create policy p on t for update to authenticated using (true);").len(), 1);
        assert_eq!(run(RULE, "create policy p on t for insert with check (true);").len(), 1);
        assert_eq!(run(RULE, "create policy p on t to anon using (true);").len(), 1);
    }

    #[test]
    fn clean_for_reads_trusted_roles_and_real_conditions() {
        assert!(run(RULE, "create policy p on t for select to anon using (true);").is_empty());
        assert!(run(RULE, "create policy p on t for update to service_role using (true);").is_empty());
        assert!(run(RULE, "create policy p on t for update to authenticated using ((select auth.uid()) = owner);").is_empty());
    }
}
