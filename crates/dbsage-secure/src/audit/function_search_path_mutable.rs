//! `function-search-path-mutable`: a SECURITY INVOKER function without a fixed `search_path`
//! (SECURITY DEFINER ones have their own check, `security-definer-function-search-path`).
//!
//! Why it matters: the function resolves unqualified names through the caller's search_path,
//! so the same call means different things for different callers, and a caller who can create
//! objects earlier in the path (or in `pg_temp`) decides what a trigger or a policy helper
//! runs. Fix: `SET search_path` on the function; not automated because a function that relies
//! on `extensions` or another schema being in the path needs that schema listed too.

use dbsage_catalog::FunctionKind;

use super::{finding, Check, Context, Severity};
use crate::sqltext::{qualified, quote_ident};

pub(crate) const CHECK: Check = Check {
    id: "function-search-path-mutable",
    automatic: false,
    run,
};

/// Languages whose body never resolves names through the search_path.
const COMPILED: &[&str] = &["c", "internal"];

fn run(ctx: &Context) -> Vec<super::AuditFinding> {
    ctx.catalog
        .functions
        .iter()
        .filter(|f| {
            !f.security_definer
                && f.kind != FunctionKind::Aggregate
                && !COMPILED.contains(&f.language.as_str())
                && !ctx.is_managed(&f.schema)
                && !f
                    .config
                    .iter()
                    .any(|c| c.to_ascii_lowercase().starts_with("search_path="))
        })
        .map(|f| {
            let signature = format!("{}({})", qualified(&f.schema, &f.name), f.argument_types);
            finding(
                CHECK.id,
                Severity::Warning,
                format!("{} {signature}", f.kind.as_str()),
                format!(
                    "{signature} takes the caller's search_path: unqualified names in it resolve differently per caller, and a caller who can create objects earlier in the path substitutes its own"
                ),
                Some(format!(
                    "-- list every schema the body uses unqualified\nalter {} {signature} set search_path = pg_catalog, {}, pg_temp;",
                    f.kind.as_str(),
                    quote_ident(&f.schema)
                )),
            )
            .with_evidence(serde_json::json!({
                "language": f.language,
                "security_definer": false,
                "config": f.config,
            }))
        })
        .collect()
}
