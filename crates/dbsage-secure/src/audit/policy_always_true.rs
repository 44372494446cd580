//! `policy-always-true`: a policy whose `USING` or `WITH CHECK` is the constant `true`.
//!
//! Why it matters: the policy lets its roles reach every row, which defeats row-level security
//! for them. On SELECT it is sometimes intended (public read), so that is a warning; on writes
//! (INSERT, UPDATE, DELETE, ALL) anyone in the role may change anyone's rows: an error. Fix: a
//! real predicate (a template).

use dbsage_catalog::PolicyCommand;

use super::{finding, Check, Context, Severity};
use crate::sqltext::{qualified, quote_ident};

pub(crate) const CHECK: Check = Check {
    id: "policy-always-true",
    automatic: false,
    run,
};

fn is_true(expr: Option<&str>) -> bool {
    expr.is_some_and(|e| {
        let e = e.trim();
        let e = e.trim_start_matches('(').trim_end_matches(')').trim();
        e.eq_ignore_ascii_case("true")
    })
}

fn run(ctx: &Context) -> Vec<super::AuditFinding> {
    let mut findings = Vec::new();
    for table in &ctx.catalog.tables {
        let name = qualified(&table.schema, &table.name);
        for policy in &table.policies {
            let using = is_true(policy.using.as_deref());
            let check = is_true(policy.with_check.as_deref());
            if !policy.permissive || !(using || check) {
                continue;
            }
            let clause = match (using, check) {
                (true, true) => "USING (true) and WITH CHECK (true)",
                (true, false) => "USING (true)",
                _ => "WITH CHECK (true)",
            };
            let severity = if policy.command == PolicyCommand::Select {
                Severity::Warning
            } else {
                Severity::Error
            };
            let roles = policy.roles.join(", ");
            let mut fix = format!(
                "-- replace the constant with the rule that decides who may {}\nalter policy {} on {name}",
                policy.command.as_str().to_lowercase(),
                quote_ident(&policy.name)
            );
            if using {
                fix.push_str("\n  using (/* e.g. user_id = (select auth.uid()) */ false)");
            }
            if check {
                fix.push_str("\n  with check (/* e.g. user_id = (select auth.uid()) */ false)");
            }
            fix.push(';');
            findings.push(finding(
                CHECK.id,
                severity,
                format!("policy \"{}\" on {name}", policy.name),
                format!(
                    "{clause} for {} lets {roles} reach every row of {name}{}",
                    policy.command.as_str(),
                    if severity == Severity::Warning {
                        " (fine only if the table is meant to be public)"
                    } else {
                        ""
                    }
                ),
                Some(fix),
            ));
        }
    }
    findings
}
