//! `public-bucket-allows-listing`: a public storage bucket with a SELECT policy on
//! `storage.objects` that covers it.
//!
//! Why it matters: a public bucket serves its files by URL without any policy; a SELECT policy
//! only adds the ability to *list* every file in it (names, owners, metadata), which is rarely
//! meant. Fix: drop the policy, or narrow it to the rows the caller owns.

use dbsage_catalog::PolicyCommand;

use super::{finding, Check, Context, Severity};
use crate::sqltext::quote_ident;

pub(crate) const CHECK: Check = Check {
    id: "public-bucket-allows-listing",
    automatic: false,
    run,
};

fn run(ctx: &Context) -> Vec<super::AuditFinding> {
    let Some(objects) = ctx.catalog.table("storage", "objects") else {
        return Vec::new();
    };
    let mut findings = Vec::new();
    for bucket in &ctx.public_buckets {
        let quoted = format!("'{}'", bucket.replace('\'', "''"));
        let listing: Vec<&str> = objects
            .policies
            .iter()
            .filter(|p| {
                p.permissive
                    && matches!(p.command, PolicyCommand::Select | PolicyCommand::All)
                    && !ctx.only_bypass_roles(p)
            })
            .filter(|p| {
                // A policy covers the bucket when it names it, or does not filter on buckets.
                let using = p.using.as_deref().unwrap_or("true");
                using.contains(&quoted) || !using.contains("bucket_id")
            })
            .map(|p| p.name.as_str())
            .collect();
        if listing.is_empty() {
            continue;
        }
        findings.push(
            finding(
                CHECK.id,
                Severity::Warning,
                format!("bucket {bucket}"),
                format!(
                    "bucket {bucket} is public (its files are served by URL without a policy) and SELECT policies on storage.objects ({}) also let callers list every file in it",
                    listing.join(", ")
                ),
                Some(
                    listing
                        .iter()
                        .map(|p| format!("drop policy {} on storage.objects;", quote_ident(p)))
                        .collect::<Vec<_>>()
                        .join("\n"),
                ),
            )
            .with_evidence(serde_json::json!({"public": true, "policies": listing})),
        );
    }
    findings
}
