//! `queue-exposed-in-api`: the `pgmq` schema (message queues) is among the exposed schemas.
//!
//! Why it matters: pgmq's queue tables and functions have no row-level security; exposed, any
//! API caller with a grant reads, sends or deletes every message. Supabase serves queues
//! through `pgmq_public` wrappers instead. Fix: remove `pgmq` from the exposed schemas.

use super::{finding, Check, Context, Severity};

pub(crate) const CHECK: Check = Check {
    id: "queue-exposed-in-api",
    automatic: false,
    run,
};

fn run(ctx: &Context) -> Vec<super::AuditFinding> {
    let installed = ctx.catalog.schemas.iter().any(|s| s.name == "pgmq")
        || ctx.catalog.extensions.iter().any(|e| e.name == "pgmq");
    if !installed || !ctx.is_exposed("pgmq") {
        return Vec::new();
    }
    let queues: Vec<String> = ctx
        .catalog
        .tables
        .iter()
        .filter(|t| t.schema == "pgmq" && t.name.starts_with("q_"))
        .map(|t| t.name.trim_start_matches("q_").to_string())
        .collect();
    vec![finding(
        CHECK.id,
        Severity::Error,
        "schema pgmq".to_string(),
        "schema pgmq is exposed through the API: its queue tables have no row-level security, so callers with a grant read and delete every message".to_string(),
        Some("-- remove \"pgmq\" from [api] schemas in supabase/config.toml (or [lint] exposed_schemas)\nrevoke usage on schema pgmq from anon, authenticated;".to_string()),
    )
    .with_evidence(serde_json::json!({"queues": queues, "exposed_schemas": ctx.exposed}))]
}
