//! `security-definer-function-executable-by-authenticated`: a `SECURITY DEFINER` function in
//! an exposed schema that signed-in users (`authenticated`, or PUBLIC) may execute.
//!
//! Why it matters: every signed-in user can call it through `/rpc/<name>` and it runs with its
//! owner's privileges, bypassing row-level security: it must check who calls it itself. Often
//! intended, hence a warning to review. Fix: revoke EXECUTE, or keep it and check
//! `auth.uid()` inside.

use super::security_definer_function_executable_by_anon::is_trigger;
use super::{finding, grants_to, Check, Context, Severity};
use crate::sqltext::qualified;

pub(crate) const CHECK: Check = Check {
    id: "security-definer-function-executable-by-authenticated",
    automatic: false,
    run,
};

fn run(ctx: &Context) -> Vec<super::AuditFinding> {
    ctx.catalog
        .functions
        .iter()
        .filter(|f| f.security_definer && ctx.is_exposed(&f.schema) && !is_trigger(f))
        .filter_map(|f| {
            let via: Vec<&str> = grants_to(&f.grants, &["authenticated"], "EXECUTE").collect();
            if via.is_empty() || !ctx.schema_usage(&f.schema, "authenticated") {
                return None;
            }
            let signature = format!("{}({})", qualified(&f.schema, &f.name), f.argument_types);
            Some(
                finding(
                    CHECK.id,
                    Severity::Warning,
                    format!("{} {signature}", f.kind.as_str()),
                    format!(
                        "every signed-in user may execute {signature} (granted to {}), a SECURITY DEFINER function running as {}: it must check the caller itself",
                        via.join(", "),
                        f.owner
                    ),
                    Some(format!(
                        "revoke execute on {} {signature} from public, authenticated;",
                        f.kind.as_str()
                    )),
                )
                .with_evidence(serde_json::json!({"granted_to": via, "owner": f.owner})),
            )
        })
        .collect()
}
