//! `extension-version-outdated`: an installed extension older than the version this server
//! would install (`pg_available_extensions.default_version`).
//!
//! Why it matters: the newer version's bug and security fixes are on disk but not in the
//! database until `ALTER EXTENSION … UPDATE` runs. Fix: that statement (not automated: an
//! update can change the extension's functions under the application).

use super::{finding, Check, Context, Severity};
use crate::sqltext::{literal, quote_ident};

pub(crate) const CHECK: Check = Check {
    id: "extension-version-outdated",
    automatic: false,
    run,
};

fn run(ctx: &Context) -> Vec<super::AuditFinding> {
    ctx.catalog
        .extensions
        .iter()
        .filter_map(|e| {
            let default = ctx.extension_defaults.get(&e.name)?;
            if *default == e.version {
                return None;
            }
            Some(
                finding(
                    CHECK.id,
                    Severity::Warning,
                    format!("extension {}", e.name),
                    format!(
                        "extension {} is at version {} but this server ships {default}",
                        e.name, e.version
                    ),
                    Some(format!(
                        "alter extension {} update to {};",
                        quote_ident(&e.name),
                        literal(default)
                    )),
                )
                .with_evidence(
                    serde_json::json!({"installed_version": e.version, "default_version": default}),
                ),
            )
        })
        .collect()
}
