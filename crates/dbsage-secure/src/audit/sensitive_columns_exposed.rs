//! `sensitive-columns-exposed`: a column whose name says it holds a secret (password, token,
//! secret, API key, SSN, card number, MAC address...) that anon or authenticated may read.
//! Names are compared as words (`sessionToken`, `session-token` → `session token`) and judged
//! with the type: an `integer` named `tokens` is a count, not a secret.
//!
//! Why it matters: row-level security filters rows, not columns: a user allowed to read a row
//! reads its password hash and reset token too, and without RLS everyone reads everyone's.
//! Fix: column-level grants that leave the sensitive columns out (a human decides, since the
//! application may select `*`).

use dbsage_catalog::{Column, Grant};

use super::{finding, granted, Check, Context, Severity, API_ROLES};
use crate::sqltext::{qualified, quote_ident};

pub(crate) const CHECK: Check = Check {
    id: "sensitive-columns-exposed",
    automatic: false,
    run,
};

/// Words (of a normalised name) that say a text value is a secret or a personal identifier.
const SECRET_WORDS: &[&str] = &[
    "password",
    "passwords",
    "passwd",
    "pwd",
    "passphrase",
    "secret",
    "secrets",
    "token",
    "tokens",
    "ssn",
    "cvv",
    "cvc",
    "iban",
    "otp",
    "pin",
    "apikey",
];

/// Word pairs with the same meaning.
const SECRET_PAIRS: &[(&str, &str)] = &[
    ("api", "key"),
    ("private", "key"),
    ("secret", "key"),
    ("access", "key"),
    ("credit", "card"),
    ("card", "number"),
    ("social", "security"),
    ("tax", "id"),
    ("passport", "number"),
    ("passport", "no"),
    ("bank", "account"),
    ("account", "number"),
    ("routing", "number"),
    ("drivers", "license"),
    ("mac", "address"),
];

/// Secrets that are numbers, so a numeric type does not make them harmless.
const NUMERIC_SECRETS: &[&str] = &["ssn", "cvv", "cvc", "pin", "otp", "iban"];
const NUMERIC_PAIRS: &[(&str, &str)] = &[
    ("credit", "card"),
    ("card", "number"),
    ("social", "security"),
    ("tax", "id"),
    ("account", "number"),
    ("routing", "number"),
];

/// `sessionToken`, `session-token` and `Session Token` all become `session_token`.
pub(crate) fn normalised_words(name: &str) -> Vec<String> {
    let mut out = String::new();
    let mut previous_lower = false;
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            if c.is_ascii_uppercase() && previous_lower {
                out.push('_');
            }
            previous_lower = c.is_ascii_lowercase() || c.is_ascii_digit();
            out.push(c.to_ascii_lowercase());
        } else {
            out.push('_');
            previous_lower = false;
        }
    }
    out.split('_')
        .filter(|w| !w.is_empty())
        .map(str::to_string)
        .collect()
}

/// Numbers, truth values and points in time: a `tokens integer` is a count, a
/// `password_changed_at timestamptz` a date.
fn is_plain_value_type(data_type: &str) -> bool {
    let t = data_type.to_ascii_lowercase();
    [
        "smallint",
        "integer",
        "bigint",
        "numeric",
        "real",
        "double precision",
        "boolean",
        "date",
        "timestamp",
        "time",
        "interval",
        "money",
    ]
    .iter()
    .any(|p| t.starts_with(p))
}

/// Whether a column's name says it holds a secret, judged with its type.
pub(crate) fn is_sensitive(name: &str, data_type: &str) -> bool {
    let words = normalised_words(name);
    let plain = is_plain_value_type(data_type);
    let (singles, pairs) = if plain {
        (NUMERIC_SECRETS, NUMERIC_PAIRS)
    } else {
        (SECRET_WORDS, SECRET_PAIRS)
    };
    let prefixed = !plain && words.len() > 1 && matches!(words[0].as_str(), "encrypted" | "hashed");
    prefixed
        || words.iter().any(|w| singles.contains(&w.as_str()))
        || words
            .windows(2)
            .any(|w| pairs.contains(&(w[0].as_str(), w[1].as_str())))
}

/// The API roles that may read `column` of a relation with `grants` in `schema`.
fn readers(ctx: &Context, schema: &str, grants: &[Grant], column: &Column) -> Vec<&'static str> {
    API_ROLES
        .iter()
        .copied()
        .filter(|r| {
            (granted(grants, &[r], "SELECT") || granted(&column.grants, &[r], "SELECT"))
                && ctx.schema_usage(schema, r)
        })
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
            .filter(|c| is_sensitive(&c.name, &c.data_type))
            .map(|c| (c, readers(ctx, schema, grants, c)))
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
            .filter(|c| !is_sensitive(&c.name, &c.data_type))
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
        )
        .with_evidence(serde_json::json!({
            "columns": exposed
                .iter()
                .map(|(c, r)| serde_json::json!({"name": c.name, "type": c.data_type, "readers": r}))
                .collect::<Vec<_>>(),
            "rls_enabled": rls,
        })));
    }
    findings
}
