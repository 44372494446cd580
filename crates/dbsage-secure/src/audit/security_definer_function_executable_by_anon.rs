//! `security-definer-function-executable-by-anon`: a `SECURITY DEFINER` function in an
//! exposed schema that the `anon` role (or PUBLIC, which includes it) may execute.
//!
//! Why it matters: PostgREST exposes such functions as `/rpc/<name>` to anyone holding the
//! public API key, and they run with their owner's privileges, bypassing row-level security.
//! PostgreSQL grants EXECUTE to PUBLIC by default, so this is the state of every such function
//! nobody revoked. Fix: revoke EXECUTE from PUBLIC and anon (and grant it to `authenticated`
//! if signed-in users need it); not automated because callers may depend on it.

use super::{finding, grants_to, Check, Context, Severity};
use crate::sqltext::qualified;

pub(crate) const CHECK: Check = Check {
    id: "security-definer-function-executable-by-anon",
    automatic: false,
    run,
};

/// Trigger (and event trigger) functions cannot be called through `/rpc`, nor directly at all.
pub(crate) fn is_trigger(f: &dbsage_catalog::Function) -> bool {
    matches!(f.result.as_deref(), Some("trigger") | Some("event_trigger"))
}

fn run(ctx: &Context) -> Vec<super::AuditFinding> {
    ctx.catalog
        .functions
        .iter()
        .filter(|f| f.security_definer && ctx.is_exposed(&f.schema) && !is_trigger(f))
        .filter_map(|f| {
            let via: Vec<&str> = grants_to(&f.grants, &["anon"], "EXECUTE").collect();
            if via.is_empty() || !ctx.schema_usage(&f.schema, "anon") {
                return None;
            }
            let name = qualified(&f.schema, &f.name);
            let signature = format!("{name}({})", f.argument_types);
            Some(finding(
                CHECK.id,
                Severity::Warning,
                format!("{} {signature}", f.kind.as_str()),
                format!(
                    "anon may execute {signature} (granted to {}), a SECURITY DEFINER function running as {}: anyone with the public API key can call it through /rpc",
                    via.join(", "),
                    f.owner
                ),
                Some(format!(
                    "revoke execute on {} {signature} from public, anon;",
                    f.kind.as_str()
                )),
            ))
        })
        .collect()
}
