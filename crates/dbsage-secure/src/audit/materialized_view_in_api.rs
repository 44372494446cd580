//! `materialized-view-in-api`: a materialized view in an exposed schema that the API roles may
//! select from.
//!
//! Why it matters: row-level security cannot be enabled on a materialized view, so every API
//! caller reads every row it holds, whatever the policies on the tables it was built from.
//! Fix: revoke the API roles' SELECT (or move it to an unexposed schema and serve it through a
//! function that filters).

use super::{finding, Check, Context, Severity, API_ROLES};
use crate::sqltext::qualified;

pub(crate) const CHECK: Check = Check {
    id: "materialized-view-in-api",
    automatic: false,
    run,
};

fn run(ctx: &Context) -> Vec<super::AuditFinding> {
    ctx.catalog
        .views
        .iter()
        .filter(|v| v.materialized && ctx.is_exposed(&v.schema))
        .filter_map(|v| {
            let readers = ctx.reachers(&v.schema, &v.grants, API_ROLES, "SELECT");
            if readers.is_empty() {
                return None;
            }
            let name = qualified(&v.schema, &v.name);
            Some(
                finding(
                    CHECK.id,
                    Severity::Warning,
                    format!("materialized view {name}"),
                    format!(
                        "{} may select from materialized view {name} through the API; row-level security does not apply to materialized views, so they read every row",
                        readers.join(", ")
                    ),
                    Some(format!("revoke select on {name} from public, anon, authenticated;")),
                )
                .with_evidence(serde_json::json!({"readers": readers, "owner": v.owner})),
            )
        })
        .collect()
}
