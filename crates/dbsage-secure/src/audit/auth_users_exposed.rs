//! `auth-users-exposed`: a view in an exposed schema reads `auth.users` and the API roles may
//! select from it.
//!
//! Why it matters: `auth.users` holds every user's email, phone and metadata; the `auth`
//! schema is not exposed precisely so that nobody reads it through the API. A view owned by
//! `postgres` in `public` reads it with the owner's privileges and hands it to anon or
//! authenticated. Fix: revoke the API roles' access to the view (or expose a
//! `security_invoker` view of only the needed columns of a profiles table).

use super::{finding, Check, Context, Severity, API_ROLES};
use crate::sqltext::qualified;

pub(crate) const CHECK: Check = Check {
    id: "auth-users-exposed",
    automatic: false,
    run,
};

fn run(ctx: &Context) -> Vec<super::AuditFinding> {
    let mut findings = Vec::new();
    for (schema, view) in &ctx.auth_users_views {
        if !ctx.is_exposed(schema) {
            continue;
        }
        let Some(v) = ctx.catalog.view(schema, view) else {
            continue;
        };
        let via = ctx.reachers(schema, &v.grants, API_ROLES, "SELECT");
        if via.is_empty() {
            continue;
        }
        let name = qualified(schema, view);
        findings.push(finding(
            CHECK.id,
            Severity::Error,
            format!("view {name}"),
            format!(
                "{name} reads auth.users and {} may select from it through the API: user emails and metadata leak",
                via.join(", ")
            ),
            Some(format!("revoke select on {name} from public, anon, authenticated;")),
        ));
    }
    findings
}
