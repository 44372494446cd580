//! Becoming a user the way PostgREST does, inside the current transaction only: the JWT claims
//! go into `request.jwt.claims` (read by `auth.uid()`, `auth.jwt()`) and the older
//! `request.jwt.claim.sub` / `.role` settings, then `SET LOCAL ROLE`. Everything is
//! transaction-local, so a rollback (or rolling back to a savepoint) undoes it.

use postgres::GenericClient;
use serde_json::{Map, Value};

use crate::error::SecureError;
use crate::sqltext::quote_ident;

/// Sets the claims (without changing role yet).
pub(crate) fn set_claims(
    client: &mut impl GenericClient,
    role: &str,
    claims: &Map<String, Value>,
) -> Result<(), postgres::Error> {
    let mut claims = claims.clone();
    claims
        .entry("role".to_string())
        .or_insert_with(|| Value::String(role.to_string()));
    let sub = claims
        .get("sub")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let email = claims
        .get("email")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let json = Value::Object(claims).to_string();
    client.execute(
        "select set_config('request.jwt.claims', $1::text, true),
                set_config('request.jwt.claim.sub', $2::text, true),
                set_config('request.jwt.claim.role', $3::text, true),
                set_config('request.jwt.claim.email', $4::text, true)",
        &[&json, &sub, &role, &email],
    )?;
    Ok(())
}

/// Checks a custom setting's name: only dotted names (`app.current_org`), the ones
/// applications define, so a setting can never change the role or the session's own limits.
pub(crate) fn check_setting_name(name: &str) -> Result<(), String> {
    let valid = name.contains('.')
        && !name.starts_with('.')
        && !name.ends_with('.')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.');
    if valid {
        Ok(())
    } else {
        Err(format!(
            "`{name}` is not a custom setting: give dotted names such as app.current_org (the ones current_setting() reads in policies)"
        ))
    }
}

/// Sets custom settings for the rest of the transaction (`set_config(name, value, true)`), as
/// an application does before its queries (`set local app.current_org = '42'`).
pub(crate) fn set_settings(
    client: &mut impl GenericClient,
    settings: &std::collections::BTreeMap<String, String>,
) -> Result<(), postgres::Error> {
    for (name, value) in settings {
        client.execute(
            "select set_config($1::text, $2::text, true)",
            &[name, value],
        )?;
    }
    Ok(())
}

/// `SET LOCAL ROLE role`.
pub(crate) fn set_role(client: &mut impl GenericClient, role: &str) -> Result<(), postgres::Error> {
    client.batch_execute(&format!("set local role {}", quote_ident(role)))
}

/// The roles that exist, to tell a typo from a denial before anything runs.
pub(crate) fn existing_roles(
    client: &mut impl GenericClient,
) -> Result<std::collections::BTreeSet<String>, SecureError> {
    let rows = client
        .query("select rolname::text from pg_roles", &[])
        .map_err(SecureError::db("listing roles"))?;
    Ok(rows.iter().map(|r| r.get(0)).collect())
}

/// Refuses statements that would leave the rolled-back, impersonated transaction: transaction
/// control (`COMMIT` would make a test's writes permanent) and role changes (`RESET ROLE`
/// would run the rest as the superuser). SQL that does not parse is left for the server to
/// reject with its own message.
pub(crate) fn check_contained(sql: &str) -> Result<(), String> {
    use dbsage_sql::NodeEnum;
    let Ok(parsed) = dbsage_sql::parse(sql) else {
        return Ok(());
    };
    for statement in &parsed.statements {
        match &statement.node {
            NodeEnum::TransactionStmt(_) => {
                return Err("transaction control (BEGIN/COMMIT/ROLLBACK/SAVEPOINT) is not allowed: every case runs in its own transaction that is rolled back".into())
            }
            NodeEnum::VariableSetStmt(s)
                if s.name.is_empty()
                    || s.name.eq_ignore_ascii_case("role")
                    || s.name.eq_ignore_ascii_case("session_authorization") =>
            {
                return Err("changing or resetting the role is not allowed: the case runs as the role it names".into())
            }
            _ => {}
        }
    }
    Ok(())
}
