//! `policy-always-true`: a policy whose `USING` or `WITH CHECK` is constant true (`true`,
//! `1 = 1`, `'a' = 'a'`, `true or …`: whatever the server's planner folds to true, see
//! [`super::constant_true`]). Policies that only name roles bypassing RLS are left out: they
//! never decide anything.
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

fn run(ctx: &Context) -> Vec<super::AuditFinding> {
    let mut findings = Vec::new();
    for table in &ctx.catalog.tables {
        let name = qualified(&table.schema, &table.name);
        for policy in &table.policies {
            let folded = |clause: &'static str| {
                ctx.always_true.contains(&(
                    table.schema.clone(),
                    table.name.clone(),
                    policy.name.clone(),
                    clause,
                ))
            };
            let using = folded("using");
            let check = folded("with check");
            if !policy.permissive || !(using || check) || ctx.only_bypass_roles(policy) {
                continue;
            }
            let shown = |e: &Option<String>| e.clone().unwrap_or_default();
            let clause = match (using, check) {
                (true, true) => format!(
                    "USING ({}) and WITH CHECK ({}), always true,",
                    shown(&policy.using),
                    shown(&policy.with_check)
                ),
                (true, false) => format!("USING ({}), always true,", shown(&policy.using)),
                _ => format!("WITH CHECK ({}), always true,", shown(&policy.with_check)),
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
            findings.push(
                finding(
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
                )
                .with_evidence(serde_json::json!({
                    "command": policy.command.as_str(),
                    "roles": policy.roles,
                    "using": policy.using,
                    "with_check": policy.with_check,
                    "using_always_true": using,
                    "with_check_always_true": check,
                    "decided_by": "the server's planner (constant folding)",
                })),
            );
        }
    }
    findings
}
