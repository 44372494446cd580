//! `security-definer-function-search-path`: a `SECURITY DEFINER` function without a fixed
//! `search_path`.
//!
//! Why it matters: the function runs with its owner's privileges but resolves unqualified names
//! through the caller's search_path, so a caller who can create objects in a schema early in
//! that path (or in `pg_temp`) substitutes their own function or table and runs code as the
//! owner. Fix: `SET search_path` on the function, with `pg_temp` last (safe to automate: the
//! function's own schema and `pg_catalog` keep resolving as before).

use super::{finding, Check, Context, Severity};
use crate::sqltext::{qualified, quote_ident};

pub(crate) const CHECK: Check = Check {
    id: "security-definer-function-search-path",
    automatic: true,
    run,
};

fn run(ctx: &Context) -> Vec<super::AuditFinding> {
    ctx.catalog
        .functions
        .iter()
        .filter(|f| {
            f.security_definer
                && !f
                    .config
                    .iter()
                    .any(|c| c.to_ascii_lowercase().starts_with("search_path="))
        })
        .map(|f| {
            let name = qualified(&f.schema, &f.name);
            let signature = format!("{name}({})", f.argument_types);
            finding(
                CHECK.id,
                Severity::Warning,
                format!("{} {signature}", f.kind.as_str()),
                format!(
                    "{signature} is SECURITY DEFINER (runs as {}) but takes the caller's search_path: a caller can shadow the names it uses and run code as its owner",
                    f.owner
                ),
                Some(format!(
                    "alter {} {signature} set search_path = pg_catalog, {}, pg_temp;",
                    f.kind.as_str(),
                    quote_ident(&f.schema)
                )),
            )
        })
        .collect()
}
