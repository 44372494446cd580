//! `security-definer-view`: a view in an exposed schema without `security_invoker = true`.
//!
//! Why it matters: a view runs with its owner's privileges by default, and the owner (usually
//! `postgres`) bypasses row-level security, so the view returns every row of the tables below
//! it to whoever may select from it. Fix: `security_invoker = true` (PostgreSQL 15+), which
//! applies the caller's grants and policies; not automated because callers may lose access
//! they relied on.

use super::{finding, Check, Context, Severity, API_ROLES};
use crate::sqltext::qualified;

pub(crate) const CHECK: Check = Check {
    id: "security-definer-view",
    automatic: false,
    run,
};

fn is_invoker(options: &[String]) -> bool {
    options.iter().any(|o| {
        let o = o.to_ascii_lowercase().replace(' ', "");
        matches!(
            o.as_str(),
            "security_invoker=true"
                | "security_invoker=on"
                | "security_invoker=1"
                | "security_invoker=yes"
        )
    })
}

fn run(ctx: &Context) -> Vec<super::AuditFinding> {
    ctx.catalog
        .views
        .iter()
        .filter(|v| !v.materialized && ctx.is_exposed(&v.schema) && !is_invoker(&v.options))
        .filter_map(|v| {
            let readers = ctx.reachers(&v.schema, &v.grants, API_ROLES, "SELECT");
            if readers.is_empty() {
                return None;
            }
            let name = qualified(&v.schema, &v.name);
            Some(finding(
                CHECK.id,
                Severity::Error,
                format!("view {name}"),
                format!(
                    "{name} runs with the privileges of its owner ({}), bypassing the callers' grants and row-level security on the tables it reads",
                    v.owner
                ),
                Some(format!("alter view {name} set (security_invoker = true);")),
            )
            .with_evidence(serde_json::json!({"owner": v.owner, "options": v.options, "readers": readers})))
        })
        .collect()
}
