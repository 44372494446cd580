//! `rls-disabled-in-exposed-schema`: a table the API exposes without row-level security.
//!
//! Why it matters: PostgREST serves every table of an exposed schema; with RLS off, any role
//! holding a grant on the table (Supabase grants anon and authenticated everything in `public`
//! by default) reads and writes every row. Fix: enable RLS, which denies everything until
//! policies say otherwise. Safe to automate: it can only take access away.

use dbsage_catalog::TableKind;

use super::{finding, Check, Context, Severity};
use crate::sqltext::qualified;

pub(crate) const CHECK: Check = Check {
    id: "rls-disabled-in-exposed-schema",
    automatic: true,
    run,
};

fn run(ctx: &Context) -> Vec<super::AuditFinding> {
    ctx.catalog
        .tables
        .iter()
        .filter(|t| t.kind != TableKind::Foreign && ctx.is_exposed(&t.schema) && !t.rls_enabled)
        .filter_map(|t| {
            // Without a grant and USAGE on the schema the API cannot reach the table at all.
            let reachers = ctx.table_reachers(t);
            if reachers.is_empty() {
                return None;
            }
            let name = qualified(&t.schema, &t.name);
            Some(finding(
                CHECK.id,
                Severity::Error,
                format!("table {name}"),
                format!(
                    "row-level security is disabled on {name}, which the API exposes: every role with a grant on it reads and writes every row"
                ),
                Some(format!("alter table {name} enable row level security;")),
            )
            .with_evidence(serde_json::json!({"rls_enabled": false, "reached_by": reachers})))
        })
        .collect()
}
