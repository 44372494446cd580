//! `table-writable-by-anon-without-rls`: the `anon` role (directly or through PUBLIC) may
//! INSERT, UPDATE or DELETE in a table without row-level security.
//!
//! Why it matters: anyone holding the public API key can change or erase every row. Fix:
//! enable RLS (safe to automate: with no policy anon can write nothing); a TRUNCATE grant is
//! revoked too, because TRUNCATE ignores row-level security.

use dbsage_catalog::TableKind;

use super::{finding, granted, grants_to, Check, Context, Severity};
use crate::sqltext::qualified;

pub(crate) const CHECK: Check = Check {
    id: "table-writable-by-anon-without-rls",
    automatic: true,
    run,
};

fn run(ctx: &Context) -> Vec<super::AuditFinding> {
    let mut findings = Vec::new();
    for table in &ctx.catalog.tables {
        if table.kind == TableKind::Foreign
            || table.rls_enabled
            || !ctx.schema_usage(&table.schema, "anon")
        {
            continue;
        }
        let writes: Vec<&str> = ["INSERT", "UPDATE", "DELETE"]
            .into_iter()
            .filter(|p| granted(&table.grants, &["anon"], p))
            .collect();
        if writes.is_empty() {
            continue;
        }
        let via: Vec<&str> = grants_to(&table.grants, &["anon"], writes[0]).collect();
        let name = qualified(&table.schema, &table.name);
        let mut fix = format!("alter table {name} enable row level security;");
        if granted(&table.grants, &["anon"], "TRUNCATE") {
            fix.push_str(&format!("\nrevoke truncate on {name} from public, anon;"));
        }
        findings.push(finding(
            CHECK.id,
            Severity::Error,
            format!("table {name}"),
            format!(
                "anon may {} {name} (granted to {}) and row-level security is off: anyone with the public API key can change every row",
                writes.join("/"),
                via.join(", ")
            ),
            Some(fix),
        ));
    }
    findings
}
