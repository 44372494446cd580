//! `policy-exists-rls-disabled`: policies were written but row-level security is off.
//!
//! Why it matters: policies do nothing until RLS is enabled on the table, so the author
//! believes rows are protected while every role with a grant sees them all. Fix: enable RLS,
//! after which the existing policies apply (safe to automate: it can only take access away).

use super::{finding, Check, Context, Severity};
use crate::sqltext::qualified;

pub(crate) const CHECK: Check = Check {
    id: "policy-exists-rls-disabled",
    automatic: true,
    run,
};

fn run(ctx: &Context) -> Vec<super::AuditFinding> {
    ctx.catalog
        .tables
        .iter()
        .filter(|t| !t.rls_enabled && !t.policies.is_empty())
        .map(|t| {
            let name = qualified(&t.schema, &t.name);
            let policies: Vec<String> = t.policies.iter().map(|p| format!("\"{}\"", p.name)).collect();
            finding(
                CHECK.id,
                Severity::Error,
                format!("table {name}"),
                format!(
                    "{name} has policies ({}) but row-level security is disabled, so none of them applies",
                    policies.join(", ")
                ),
                Some(format!("alter table {name} enable row level security;")),
            )
        })
        .collect()
}
