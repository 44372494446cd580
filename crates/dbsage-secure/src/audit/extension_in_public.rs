//! `extension-in-public`: an extension installed into `public`.
//!
//! Why it matters: everything in `public` is served by the API and granted to its roles by
//! default, so the extension's functions (and tables, for some) become part of the API, and its
//! names clash with the project's. Fix: move it to the `extensions` schema (relocatable
//! extensions move with `ALTER EXTENSION … SET SCHEMA`; others are dropped and re-created).

use super::{finding, Check, Context, Severity};
use crate::sqltext::quote_ident;

pub(crate) const CHECK: Check = Check {
    id: "extension-in-public",
    automatic: false,
    run,
};

fn run(ctx: &Context) -> Vec<super::AuditFinding> {
    ctx.catalog
        .extensions
        .iter()
        .filter(|e| e.schema == "public" && e.name != "plpgsql")
        .map(|e| {
            finding(
                CHECK.id,
                Severity::Warning,
                format!("extension {}", e.name),
                format!(
                    "extension {} is installed in schema public: its objects are exposed through the API and granted to its roles by default",
                    e.name
                ),
                Some(format!(
                    "create schema if not exists extensions;\nalter extension {} set schema extensions;",
                    quote_ident(&e.name)
                )),
            )
            .with_evidence(serde_json::json!({"extension": e.name, "version": e.version, "schema": e.schema}))
        })
        .collect()
}
