//! `policy-per-row-auth-call`: `auth.uid()`, `auth.jwt()` or `current_setting()` in a policy
//! without a `(select …)` around it.
//!
//! Why it matters: a bare call is evaluated once per row; wrapped in a sub-select PostgreSQL
//! evaluates it once per statement (an InitPlan), which on large tables is the difference
//! between milliseconds and seconds. The result is the same, so the rewrite is safe to
//! automate: `ALTER POLICY` with the wrapped expressions.

use super::{finding, Check, Context, Severity};
use crate::sqltext::{qualified, quote_ident, wrap_auth_calls};

pub(crate) const CHECK: Check = Check {
    id: "policy-per-row-auth-call",
    automatic: true,
    run,
};

fn run(ctx: &Context) -> Vec<super::AuditFinding> {
    let mut findings = Vec::new();
    for table in &ctx.catalog.tables {
        let name = qualified(&table.schema, &table.name);
        for policy in table.policies.iter().filter(|p| !ctx.only_bypass_roles(p)) {
            let using = policy.using.as_deref().and_then(wrap_auth_calls);
            let check = policy.with_check.as_deref().and_then(wrap_auth_calls);
            if using.is_none() && check.is_none() {
                continue;
            }
            let mut fix = format!("alter policy {} on {name}", quote_ident(&policy.name));
            if let Some(using) = &using {
                fix.push_str(&format!("\n  using ({using})"));
            }
            if let Some(check) = &check {
                fix.push_str(&format!("\n  with check ({check})"));
            }
            fix.push(';');
            findings.push(finding(
                CHECK.id,
                Severity::Warning,
                format!("policy \"{}\" on {name}", policy.name),
                "calls auth.uid()/auth.jwt()/current_setting() once per row; wrapped as (select …) it runs once per statement with the same result".to_string(),
                Some(fix),
            ));
        }
    }
    findings
}
