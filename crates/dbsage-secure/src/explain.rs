//! `secure explain --as ROLE[:SUB] "query"`: runs a query as a user and, when rows are missing
//! or the query is denied, says why. Silent denial is the top complaint about row-level
//! security: zero rows, no error, nothing to go on. The usual causes, each checked here:
//! `auth.uid()` is null because no `sub` claim was set; the role lacks a GRANT (or USAGE on the
//! schema); RLS is on but no policy covers the role and command; or the policies' predicates
//! are false for the rows, which is shown per policy by evaluating each `USING` expression on
//! every row as the connecting superuser, with the same claims set.
//!
//! Everything runs in one transaction that is rolled back.

use std::collections::BTreeMap;

use postgres::SimpleQueryMessage;
use serde::Serialize;
use serde_json::{Map, Value};

use crate::error::{db_message, sqlstate, SecureError};
use crate::facts::{table_facts, touched_tables, TableFacts, Touched};
use crate::impersonate::{
    check_contained, check_setting_name, existing_roles, set_claims, set_role, set_settings,
};
use crate::policy_tests::runner::{run_statement, Outcome};
use crate::sqltext::{literal, qualified, quote_ident};

/// How many rows of a table the per-row policy evaluation looks at.
const ROW_LIMIT: usize = 10_000;
/// How many hidden rows are shown with their per-policy results.
const SAMPLE: usize = 5;

/// The error a query failed with, as the server reported it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct QueryError {
    pub code: String,
    pub message: String,
    pub detail: Option<String>,
    pub hint: Option<String>,
}

/// How one policy judged the rows the role could not reach.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PolicyVerdict {
    pub name: String,
    pub permissive: bool,
    /// The `USING` expression.
    pub using: Option<String>,
    pub with_check: Option<String>,
    /// Among the hidden rows: how many the expression was false for, and null for.
    pub false_rows: u64,
    pub null_rows: u64,
}

/// A row the role could not reach, named by its primary key (or ctid), with each policy's
/// result for it (`true`, `false`, `null`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HiddenRow {
    pub key: String,
    pub policies: BTreeMap<String, String>,
}

/// What one table the query touches says about the role.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TableExplanation {
    /// `schema.table`.
    pub table: String,
    /// `select`, `insert`, `update` or `delete`.
    pub command: String,
    pub rls_enabled: bool,
    pub rls_bypassed: bool,
    pub granted: bool,
    pub schema_usage: bool,
    /// Policies that apply to the role for the command.
    pub policies: Vec<PolicyVerdict>,
    /// Rows in the table, and how many of them the policies hide from the role (when policies
    /// were evaluated per row).
    pub total_rows: Option<u64>,
    pub hidden_rows: Option<u64>,
    pub hidden_sample: Vec<HiddenRow>,
}

/// One reason rows are missing or the query was denied.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Reason {
    /// `uid-null`, `missing-schema-usage`, `missing-grant`, `no-policy`, `policy-false` or
    /// `with-check-failed`.
    pub kind: String,
    pub table: Option<String>,
    pub message: String,
    pub fix_sql: Option<String>,
}

/// The whole explanation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Explanation {
    pub role: String,
    pub sub: Option<String>,
    pub query: String,
    /// Rows returned (SELECT) or affected (INSERT/UPDATE/DELETE) when the query succeeded.
    pub rows: Option<u64>,
    pub error: Option<QueryError>,
    pub tables: Vec<TableExplanation>,
    /// Why rows are missing or the query was denied; empty when nothing was.
    pub reasons: Vec<Reason>,
}

impl Explanation {
    /// Whether a reason of `kind` was found.
    pub fn has_reason(&self, kind: &str) -> bool {
        self.reasons.iter().any(|r| r.kind == kind)
    }
}

/// Runs `query` as `role` (with `sub` as the JWT's `sub` claim) and explains missing rows.
pub fn explain(
    client: &mut postgres::Client,
    role: &str,
    sub: Option<&str>,
    query: &str,
) -> Result<Explanation, SecureError> {
    explain_with_settings(client, role, sub, &BTreeMap::new(), query)
}

/// [`explain`] with custom settings in effect (`app.current_org = 42`), for policies that read
/// `current_setting()`; the per-row policy evaluation sees them too.
pub fn explain_with_settings(
    client: &mut postgres::Client,
    role: &str,
    sub: Option<&str>,
    settings: &BTreeMap<String, String>,
    query: &str,
) -> Result<Explanation, SecureError> {
    for name in settings.keys() {
        check_setting_name(name).map_err(SecureError::BadInput)?;
    }
    if !existing_roles(client)?.contains(role) {
        return Err(SecureError::UnknownRole {
            role: role.to_string(),
            context: "secure explain --as".into(),
        });
    }
    check_contained(query).map_err(SecureError::BadInput)?;
    let mut claims = Map::new();
    if let Some(sub) = sub {
        claims.insert("sub".into(), Value::String(sub.to_string()));
    }

    let mut tx = client.transaction().map_err(SecureError::db("begin"))?;
    let touched = {
        let mut sp = tx.savepoint("plan").map_err(SecureError::db("savepoint"))?;
        match touched_tables(&mut sp, query) {
            Ok(t) => t,
            Err(e) => match sqlstate(&e).as_deref() {
                Some("42P01") => {
                    return Err(SecureError::MissingTable {
                        context: "secure explain".into(),
                        message: db_message(&e),
                    })
                }
                Some("42601") => {
                    return Err(SecureError::BadInput(format!(
                        "syntax error: {}",
                        db_message(&e)
                    )))
                }
                // Never explain a query that could not be planned as "nothing is hidden".
                _ => return Err(SecureError::db("planning the query (EXPLAIN)")(e)),
            },
        }
    };
    set_claims(&mut tx, role, &claims).map_err(SecureError::db("setting the claims"))?;
    set_settings(&mut tx, settings).map_err(SecureError::db("applying --set"))?;
    let outcome = {
        let mut sp = tx.savepoint("run").map_err(SecureError::db("savepoint"))?;
        set_role(&mut sp, role)
            .map_err(SecureError::db(format!("impersonating: SET ROLE {role}")))?;
        run_statement(&mut sp, query).map_err(SecureError::db("running the query"))?
        // Rolling back to the savepoint undoes the role and any writes, keeps the claims.
    };
    let (rows, error) = match outcome {
        Outcome::Rows(n) => (Some(n), None),
        Outcome::Failed {
            code,
            message,
            detail,
            hint,
        } => (
            None,
            Some(QueryError {
                code,
                message,
                detail,
                hint,
            }),
        ),
    };

    let mut tables = Vec::new();
    let mut reasons = Vec::new();
    for t in &touched {
        let facts = table_facts(&mut tx, &t.schema, &t.table, role)?;
        let table = explain_table(&mut tx, t, &facts)?;
        reasons.extend(reasons_for(role, sub, t, &facts, &table, error.as_ref()));
        tables.push(table);
    }
    let missing =
        error.is_some() || rows == Some(0) || tables.iter().any(|t| t.hidden_rows.unwrap_or(0) > 0);
    if !missing {
        reasons.clear();
    }
    Ok(Explanation {
        role: role.to_string(),
        sub: sub.map(str::to_string),
        query: query.to_string(),
        rows,
        error,
        tables,
        reasons,
    })
}

/// Evaluates the applicable policies' USING expressions on every row (up to [`ROW_LIMIT`]).
fn explain_table(
    tx: &mut postgres::Transaction,
    t: &Touched,
    facts: &TableFacts,
) -> Result<TableExplanation, SecureError> {
    let name = qualified(&t.schema, &t.table);
    let applicable: Vec<_> = facts.applicable(t.command).collect();
    let mut policies: Vec<PolicyVerdict> = applicable
        .iter()
        .map(|p| PolicyVerdict {
            name: p.name.clone(),
            permissive: p.permissive,
            using: p.using.clone(),
            with_check: p.with_check.clone(),
            false_rows: 0,
            null_rows: 0,
        })
        .collect();
    let mut explanation = TableExplanation {
        table: format!("{}.{}", t.schema, t.table),
        command: t.command.to_string(),
        rls_enabled: facts.rls_enabled,
        rls_bypassed: facts.bypass,
        granted: facts.granted(t.command),
        schema_usage: facts.schema_usage,
        policies: Vec::new(),
        total_rows: None,
        hidden_rows: None,
        hidden_sample: Vec::new(),
    };
    let evaluable = facts.rls_enabled && !facts.bypass && t.command != "insert";
    if evaluable {
        let key = if facts.key_columns.is_empty() {
            "ctid::text".to_string()
        } else {
            let parts: Vec<String> = facts
                .key_columns
                .iter()
                .map(|c| {
                    format!(
                        "{} || '=' || coalesce(({})::text, 'null')",
                        literal(c),
                        quote_ident(c)
                    )
                })
                .collect();
            format!("concat_ws(', ', {})", parts.join(", "))
        };
        let mut select = vec![key];
        for p in &applicable {
            // A policy without USING for this command (an INSERT-only one) never hides rows.
            let expr = p.using.as_deref().unwrap_or("true");
            select.push(format!("(({expr}))::text"));
        }
        let sql = format!("select {} from {name} limit {ROW_LIMIT}", select.join(", "));
        let mut sp = tx
            .savepoint("evaluate")
            .map_err(SecureError::db("savepoint"))?;
        let messages = sp.simple_query(&sql).map_err(SecureError::db(format!(
            "evaluating the policies of {name} on its rows"
        )))?;
        let mut total = 0u64;
        let mut hidden = 0u64;
        for m in &messages {
            let SimpleQueryMessage::Row(row) = m else {
                continue;
            };
            total += 1;
            let results: Vec<Option<&str>> =
                (0..applicable.len()).map(|i| row.get(i + 1)).collect();
            let permissive_ok = applicable
                .iter()
                .zip(&results)
                .any(|(p, r)| p.permissive && *r == Some("true"));
            let restrictive_ok = applicable
                .iter()
                .zip(&results)
                .all(|(p, r)| p.permissive || *r == Some("true"));
            if permissive_ok && restrictive_ok {
                continue;
            }
            hidden += 1;
            for (verdict, r) in policies.iter_mut().zip(&results) {
                match r {
                    Some("false") => verdict.false_rows += 1,
                    None => verdict.null_rows += 1,
                    _ => {}
                }
            }
            if explanation.hidden_sample.len() < SAMPLE {
                explanation.hidden_sample.push(HiddenRow {
                    key: row.get(0).unwrap_or("").to_string(),
                    policies: applicable
                        .iter()
                        .zip(&results)
                        .map(|(p, r)| (p.name.clone(), r.unwrap_or("null").to_string()))
                        .collect(),
                });
            }
        }
        explanation.total_rows = Some(total);
        explanation.hidden_rows = Some(hidden);
    }
    explanation.policies = policies;
    Ok(explanation)
}

fn mentions_sub(expr: &str) -> bool {
    let e = expr.to_ascii_lowercase();
    e.contains("auth.uid()") || e.contains("'sub'") || e.contains("request.jwt.claim.sub")
}

fn reasons_for(
    role: &str,
    sub: Option<&str>,
    t: &Touched,
    facts: &TableFacts,
    table: &TableExplanation,
    error: Option<&QueryError>,
) -> Vec<Reason> {
    let name = qualified(&t.schema, &t.table);
    let command = t.command;
    let mut reasons = Vec::new();
    let reason = |kind: &str, message: String, fix_sql: Option<String>| Reason {
        kind: kind.to_string(),
        table: Some(table.table.clone()),
        message,
        fix_sql,
    };
    if !facts.schema_usage {
        reasons.push(reason(
            "missing-schema-usage",
            format!(
                "{role} has no USAGE on schema {}: every query on {name} fails with 42501",
                quote_ident(&t.schema)
            ),
            Some(format!(
                "grant usage on schema {} to {};",
                quote_ident(&t.schema),
                quote_ident(role)
            )),
        ));
    }
    if !facts.granted(command) {
        reasons.push(reason(
            "missing-grant",
            format!(
                "{role} lacks the {} privilege on {name}: PostgreSQL checks grants before row-level security, so the query fails with 42501 whatever the policies say",
                command.to_uppercase()
            ),
            Some(format!("grant {command} on {name} to {};", quote_ident(role))),
        ));
    }
    if facts.rls_enabled && !facts.bypass {
        let permissive: Vec<_> = facts.permissive_for(command).collect();
        if permissive.is_empty() {
            reasons.push(reason(
                "no-policy",
                format!(
                    "row-level security is on for {name} and no permissive policy covers {} for {role}: it {} silently",
                    command.to_uppercase(),
                    if command == "insert" { "fails with 42501" } else { "sees no rows and changes none" }
                ),
                Some(format!(
                    "create policy {} on {name} for {command} to {}\n  {} (/* who may {command} which rows */ false);",
                    quote_ident(&format!("{}_{command}", t.table)),
                    quote_ident(role),
                    if command == "insert" { "with check" } else { "using" }
                )),
            ));
        }
        let uses_sub = facts.applicable(command).any(|p| {
            p.using.as_deref().is_some_and(mentions_sub)
                || p.with_check.as_deref().is_some_and(mentions_sub)
        });
        if sub.is_none() && uses_sub {
            reasons.push(reason(
                "uid-null",
                format!(
                    "auth.uid() is null: no `sub` claim was set (use --as {role}:<user id>), so every policy comparing with it is null, never true"
                ),
                None,
            ));
        }
        if let Some(hidden) = table.hidden_rows.filter(|h| *h > 0) {
            let verdicts: Vec<String> = table
                .policies
                .iter()
                .filter(|p| p.false_rows + p.null_rows > 0)
                .map(|p| {
                    format!(
                        "\"{}\" using ({}) was false for {} and null for {} of them",
                        p.name,
                        p.using.as_deref().unwrap_or("true"),
                        p.false_rows,
                        p.null_rows
                    )
                })
                .collect();
            if !verdicts.is_empty() {
                reasons.push(reason(
                    "policy-false",
                    format!(
                        "{hidden} of {} rows of {name} are hidden from {role} for {}: {}",
                        table.total_rows.unwrap_or(0),
                        command.to_uppercase(),
                        verdicts.join("; ")
                    ),
                    None,
                ));
            }
        }
        if command == "insert" {
            if let Some(e) =
                error.filter(|e| e.code == "42501" && e.message.contains("row-level security"))
            {
                let checks: Vec<String> = facts
                    .applicable("insert")
                    .map(|p| {
                        format!(
                            "\"{}\" with check ({})",
                            p.name,
                            p.with_check
                                .as_deref()
                                .or(p.using.as_deref())
                                .unwrap_or("true")
                        )
                    })
                    .collect();
                reasons.push(reason(
                    "with-check-failed",
                    format!(
                        "{}; the new row must satisfy: {}",
                        e.message,
                        if checks.is_empty() {
                            "no policy".to_string()
                        } else {
                            checks.join(" or ")
                        }
                    ),
                    None,
                ));
            }
        }
    }
    reasons
}
