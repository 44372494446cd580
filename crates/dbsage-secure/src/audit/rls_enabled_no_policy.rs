//! `rls-enabled-no-policy`: row-level security is on but no policy exists, in any schema the
//! project owns (silent denial is the same whether or not the API serves the schema).
//!
//! Why it matters: this is the silent-denial case: every query by a non-owner returns zero rows
//! and every write affects none, without an error. Sometimes intended (a table only the
//! service role touches), usually a forgotten `CREATE POLICY`. Fix: a policy, which only a
//! human can write; the SQL is a template.

use super::{finding, Check, Context, Severity};
use crate::sqltext::{qualified, quote_ident};

pub(crate) const CHECK: Check = Check {
    id: "rls-enabled-no-policy",
    automatic: false,
    run,
};

fn run(ctx: &Context) -> Vec<super::AuditFinding> {
    ctx.catalog
        .tables
        .iter()
        .filter(|t| !ctx.is_managed(&t.schema) && t.rls_enabled && t.policies.is_empty())
        .map(|t| {
            let name = qualified(&t.schema, &t.name);
            finding(
                CHECK.id,
                Severity::Warning,
                format!("table {name}"),
                format!(
                    "row-level security is enabled on {name} but it has no policy: every non-owner query returns no rows and every write affects none, silently"
                ),
                Some(format!(
                    "-- complete the predicate, then add the policies the other commands need\ncreate policy {} on {name} for select to authenticated\n  using (/* e.g. user_id = (select auth.uid()) */ false);",
                    quote_ident(&format!("{}_select", t.name))
                )),
            )
        })
        .collect()
}
