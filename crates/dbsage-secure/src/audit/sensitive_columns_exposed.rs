//! `sensitive-columns-exposed`: a column whose name says it holds a secret (password, token,
//! secret, API key, SSN, card number...) that anon or authenticated may read.
//!
//! Why it matters: row-level security filters rows, not columns: a user allowed to read a row
//! reads its password hash and reset token too, and without RLS everyone reads everyone's.
//! Fix: column-level grants that leave the sensitive columns out (a human decides, since the
//! application may select `*`).

use regex::Regex;
use std::sync::OnceLock;

use dbsage_catalog::{Column, Grant};

use super::{finding, granted, Check, Context, Severity, API_ROLES};
use crate::sqltext::{qualified, quote_ident};

pub(crate) const CHECK: Check = Check {
    id: "sensitive-columns-exposed",
    automatic: false,
    run,
};

fn pattern() -> &'static Regex {
    static PATTERN: OnceLock<Regex> = OnceLock::new();
    PATTERN.get_or_init(|| {
        Regex::new(
            r"(?i)(^|_)(password|passwd|pwd|passphrase|secret|token|ssn|cvv|cvc|iban|otp|pin)(_|s?$)|api_?key|private_?key|secret_?key|credit_?card|card_?number|social_?security|tax_?id|passport_?(number|no)|bank_?account|(encrypted|hashed)_",
        )
        .expect("valid regex")
    })
}

/// Whether a column name says it holds a secret.
pub(crate) fn is_sensitive(name: &str) -> bool {
    pattern().is_match(name)
}

/// The API roles that may read `column` of a relation with `grants`.
fn readers(grants: &[Grant], column: &Column) -> Vec<&'static str> {
    API_ROLES
        .iter()
        .copied()
        .filter(|r| granted(grants, &[r], "SELECT") || granted(&column.grants, &[r], "SELECT"))
        .collect()
}

fn run(ctx: &Context) -> Vec<super::AuditFinding> {
    let mut findings = Vec::new();
    let tables = ctx.catalog.tables.iter().map(|t| {
        (
            &t.schema,
            &t.name,
            &t.columns,
            &t.grants,
            Some(t.rls_enabled),
            "table",
        )
    });
    let views = ctx
        .catalog
        .views
        .iter()
        .map(|v| (&v.schema, &v.name, &v.columns, &v.grants, None, "view"));
    for (schema, name, columns, grants, rls, kind) in tables.chain(views) {
        if !ctx.is_exposed(schema) {
            continue;
        }
        let exposed: Vec<(&Column, Vec<&str>)> = columns
            .iter()
            .filter(|c| is_sensitive(&c.name))
            .map(|c| (c, readers(grants, c)))
            .filter(|(_, r)| !r.is_empty())
            .collect();
        if exposed.is_empty() {
            continue;
        }
        let qname = qualified(schema, name);
        let names: Vec<String> = exposed.iter().map(|(c, _)| c.name.clone()).collect();
        let mut readers: Vec<&str> = exposed
            .iter()
            .flat_map(|(_, r)| r.iter().copied())
            .collect();
        readers.sort();
        readers.dedup();
        let keep: Vec<String> = columns
            .iter()
            .filter(|c| !is_sensitive(&c.name))
            .map(|c| quote_ident(&c.name))
            .collect();
        let roles = readers.join(", ");
        let mut fix = format!("revoke select on {qname} from public, {roles};");
        if !keep.is_empty() {
            fix.push_str(&format!(
                "\ngrant select ({}) on {qname} to {roles};",
                keep.join(", ")
            ));
        }
        let severity = if rls == Some(true) {
            Severity::Warning
        } else {
            Severity::Error
        };
        findings.push(finding(
            CHECK.id,
            severity,
            format!("{kind} {qname}"),
            format!(
                "{roles} may read {} of {qname}{}",
                names.join(", "),
                match rls {
                    Some(true) => ": row-level security filters rows, not columns, so every readable row exposes them",
                    Some(false) => " and row-level security is off: every row's secrets are readable",
                    None => " through the API",
                }
            ),
            Some(fix),
        ));
    }
    findings
}
