//! `foreign-table-in-api`: a foreign table in an exposed schema that the API roles may reach.
//!
//! Why it matters: foreign tables do not support row-level security, so API callers read (and
//! possibly write) the remote data with the server's own credentials for it. Fix: revoke the
//! API roles' privileges or move the table to an unexposed schema.

use dbsage_catalog::TableKind;

use super::{finding, Check, Context, Severity};
use crate::sqltext::qualified;

pub(crate) const CHECK: Check = Check {
    id: "foreign-table-in-api",
    automatic: false,
    run,
};

fn run(ctx: &Context) -> Vec<super::AuditFinding> {
    ctx.catalog
        .tables
        .iter()
        .filter(|t| t.kind == TableKind::Foreign && ctx.is_exposed(&t.schema))
        .filter_map(|t| {
            let reachers = ctx.table_reachers(t);
            if reachers.is_empty() {
                return None;
            }
            let name = qualified(&t.schema, &t.name);
            Some(
                finding(
                    CHECK.id,
                    Severity::Warning,
                    format!("foreign table {name}"),
                    format!(
                        "{} may reach foreign table {name} through the API; foreign tables have no row-level security, so callers see the remote data as the server does",
                        reachers.join(", ")
                    ),
                    Some(format!("revoke all on {name} from public, anon, authenticated;")),
                )
                .with_evidence(serde_json::json!({"reached_by": reachers})),
            )
        })
        .collect()
}
