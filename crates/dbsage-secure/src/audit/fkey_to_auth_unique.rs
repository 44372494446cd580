//! `fkey-to-auth-unique`: a foreign key to a unique column of a table in `auth` other than its
//! primary key (`references auth.users (phone)`).
//!
//! Why it matters: Supabase manages the `auth` schema and may drop or change its unique
//! constraints and indexes in an upgrade; a foreign key depending on one blocks that upgrade
//! or breaks with it. Only the primary key is stable. Fix: reference `auth.users (id)`.

use super::{finding, Check, Context, Severity};
use crate::sqltext::{qualified, quote_ident};

pub(crate) const CHECK: Check = Check {
    id: "fkey-to-auth-unique",
    automatic: false,
    run,
};

fn run(ctx: &Context) -> Vec<super::AuditFinding> {
    let mut findings = Vec::new();
    for table in ctx.catalog.tables.iter().filter(|t| t.schema != "auth") {
        let name = qualified(&table.schema, &table.name);
        for constraint in &table.constraints {
            let Some(fk) = &constraint.foreign_key else {
                continue;
            };
            if fk.referenced_schema != "auth" {
                continue;
            }
            let primary = ctx
                .catalog
                .table(&fk.referenced_schema, &fk.referenced_table)
                .and_then(|t| t.indexes.iter().find(|i| i.primary))
                .map(|i| i.columns.clone());
            if primary.as_ref() == Some(&fk.referenced_columns) {
                continue;
            }
            let referenced = qualified(&fk.referenced_schema, &fk.referenced_table);
            findings.push(
                finding(
                    CHECK.id,
                    Severity::Warning,
                    format!("constraint {} on {name}", quote_ident(&constraint.name)),
                    format!(
                        "{} references {referenced} ({}), a unique key Supabase manages and may drop in an upgrade; only its primary key is stable",
                        constraint.name,
                        fk.referenced_columns.join(", ")
                    ),
                    Some(format!(
                        "-- reference the primary key instead, e.g.\nalter table {name} drop constraint {};",
                        quote_ident(&constraint.name)
                    )),
                )
                .with_evidence(serde_json::json!({
                    "referenced_table": referenced,
                    "referenced_columns": fk.referenced_columns,
                    "primary_key": primary,
                })),
            );
        }
    }
    findings
}
