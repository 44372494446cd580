//! `policy-uses-user-metadata`: a policy reads `raw_user_meta_data` / `user_metadata`.
//!
//! Why it matters: users edit their own user metadata (`supabase.auth.updateUser({ data })`),
//! so a policy that trusts it (`auth.jwt() -> 'user_metadata' ->> 'role' = 'admin'`) lets
//! anyone grant themselves access. Fix: use `app_metadata` / `raw_app_meta_data`, which only
//! the server can set (a template: the claim must be set there first).

use super::{finding, Check, Context, Severity};
use crate::sqltext::{qualified, quote_ident};

pub(crate) const CHECK: Check = Check {
    id: "policy-uses-user-metadata",
    automatic: false,
    run,
};

fn mentions_user_metadata(expr: Option<&str>) -> bool {
    expr.is_some_and(|e| {
        let e = e.to_ascii_lowercase();
        e.contains("user_metadata") || e.contains("raw_user_meta_data")
    })
}

fn run(ctx: &Context) -> Vec<super::AuditFinding> {
    let mut findings = Vec::new();
    for table in &ctx.catalog.tables {
        let name = qualified(&table.schema, &table.name);
        for policy in table.policies.iter().filter(|p| !ctx.only_bypass_roles(p)) {
            let using = mentions_user_metadata(policy.using.as_deref());
            let check = mentions_user_metadata(policy.with_check.as_deref());
            if !(using || check) {
                continue;
            }
            let replace = |e: &str| {
                e.replace("raw_user_meta_data", "raw_app_meta_data")
                    .replace("user_metadata", "app_metadata")
            };
            let mut fix = format!(
                "-- set the claim in app_metadata (server-side only) first\nalter policy {} on {name}",
                quote_ident(&policy.name)
            );
            if let (true, Some(u)) = (using, &policy.using) {
                fix.push_str(&format!("\n  using ({})", replace(u)));
            }
            if let (true, Some(c)) = (check, &policy.with_check) {
                fix.push_str(&format!("\n  with check ({})", replace(c)));
            }
            fix.push(';');
            findings.push(finding(
                CHECK.id,
                Severity::Error,
                format!("policy \"{}\" on {name}", policy.name),
                "the policy trusts user metadata, which every user can edit for themselves: anyone can grant themselves access".to_string(),
                Some(fix),
            ));
        }
    }
    findings
}
