//! Runs policy test cases as real users. Each case gets its own transaction: the file's setup
//! runs first (as the connecting user), then the case impersonates its role and claims, runs
//! its SQL, and everything is rolled back, so cases cannot see each other's writes and the
//! database is left exactly as it was.

use postgres::{SimpleQueryMessage, Transaction};
use serde::Serialize;

use super::file::{Expect, TestCase, TestFile};
use crate::error::{db_message, sqlstate, SecureError};
use crate::impersonate::{check_contained, existing_roles, set_claims, set_role, set_settings};

/// The result of one case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CaseResult {
    pub file: String,
    pub name: String,
    pub passed: bool,
    /// What happened: `2 rows`, `denied: 42501 permission denied for table t`, or why it failed.
    pub message: String,
}

/// The results of a run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TestReport {
    pub passed: usize,
    pub failed: usize,
    pub cases: Vec<CaseResult>,
}

/// What a statement did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// Rows returned (SELECT) or affected (INSERT/UPDATE/DELETE), from the last command tag.
    Rows(u64),
    Failed {
        code: String,
        message: String,
        detail: Option<String>,
        hint: Option<String>,
    },
}

/// Runs `sql` and reports rows returned/affected by its last statement, or the error.
pub(crate) fn run_statement(tx: &mut Transaction, sql: &str) -> Result<Outcome, postgres::Error> {
    match tx.simple_query(sql) {
        Ok(messages) => {
            let rows = messages
                .iter()
                .rev()
                .find_map(|m| match m {
                    SimpleQueryMessage::CommandComplete(n) => Some(*n),
                    _ => None,
                })
                .unwrap_or(0);
            Ok(Outcome::Rows(rows))
        }
        Err(e) if e.as_db_error().is_some() => Ok(Outcome::Failed {
            code: sqlstate(&e).unwrap_or_default(),
            message: db_message(&e),
            detail: e
                .as_db_error()
                .and_then(|db| db.detail())
                .map(str::to_string),
            hint: e.as_db_error().and_then(|db| db.hint()).map(str::to_string),
        }),
        Err(e) => Err(e),
    }
}

/// `CODE: message; detail: …; server hint: …` of a failed statement.
fn failure_text(outcome: &Outcome) -> String {
    let Outcome::Failed {
        code,
        message,
        detail,
        hint,
    } = outcome
    else {
        return String::new();
    };
    let mut text = format!("{code}: {message}");
    if let Some(d) = detail {
        text.push_str(&format!("; detail: {d}"));
    }
    if let Some(h) = hint {
        text.push_str(&format!("; server hint: {h}"));
    }
    text
}

fn plural(n: u64) -> String {
    format!("{n} row{}", if n == 1 { "" } else { "s" })
}

/// Judges an outcome against an expectation: (passed, message).
pub(crate) fn judge(expect: &Expect, outcome: &Outcome) -> (bool, String) {
    match (expect, outcome) {
        (Expect::Rows(want), Outcome::Rows(got)) => (
            want == got,
            if want == got {
                plural(*got)
            } else {
                format!("expected {}, got {}", plural(*want), plural(*got))
            },
        ),
        (Expect::RowsAtLeast(want), Outcome::Rows(got)) => (
            got >= want,
            if got >= want {
                plural(*got)
            } else {
                format!("expected at least {}, got {}", plural(*want), plural(*got))
            },
        ),
        (Expect::Denied, Outcome::Rows(0)) => (true, "denied: no rows returned or affected".into()),
        (Expect::Denied, Outcome::Rows(n)) => (
            false,
            format!("expected denial, but {} returned or affected", plural(*n)),
        ),
        (Expect::Denied, Outcome::Failed { code, message, .. }) if code == "42501" => {
            (true, format!("denied: {code} {message}"))
        }
        (Expect::Error(want), Outcome::Failed { code, message, .. }) => {
            let matches = if want.len() == 5 && want.chars().all(|c| c.is_ascii_alphanumeric()) {
                code.eq_ignore_ascii_case(want)
            } else {
                message.contains(want.as_str())
            };
            if matches {
                (true, format!("failed as expected: {code} {message}"))
            } else {
                (
                    false,
                    format!("expected error {want}, got {code} {message}"),
                )
            }
        }
        (Expect::Error(want), Outcome::Rows(n)) => (
            false,
            format!(
                "expected error {want}, but the statement succeeded ({})",
                plural(*n)
            ),
        ),
        (_, failed) => (false, format!("error {}", failure_text(failed))),
    }
}

/// Checks every case before anything runs: roles must exist, SQL must stay inside the
/// rolled-back transaction.
pub(crate) fn validate(
    client: &mut postgres::Client,
    files: &[TestFile],
) -> Result<(), SecureError> {
    let roles = existing_roles(client)?;
    for file in files {
        for (i, statement) in file.setup.iter().enumerate() {
            check_contained(statement).map_err(|m| {
                SecureError::BadInput(format!("{}: setup[{i}]: {m}", file.path.display()))
            })?;
        }
        for case in &file.cases {
            let context = case_context(file, case);
            if !roles.contains(&case.actor.role) {
                return Err(SecureError::UnknownRole {
                    role: case.actor.role.clone(),
                    context,
                });
            }
            check_contained(&case.sql)
                .map_err(|m| SecureError::BadInput(format!("{context}: {m}")))?;
        }
    }
    Ok(())
}

pub(crate) fn case_context(file: &TestFile, case: &TestCase) -> String {
    format!(
        "{}:{}: case \"{}\"",
        file.path.display(),
        case.line,
        case.name
    )
}

/// Fails with [`SecureError::MissingTable`] when an outcome says a relation does not exist
/// (and the case did not expect exactly that).
fn missing_relation(context: &str, outcome: &Outcome, expect: &Expect) -> Result<(), SecureError> {
    if let Outcome::Failed { code, message, .. } = outcome {
        let expected = matches!(expect, Expect::Error(e) if e == code);
        if code == "42P01" && !expected {
            return Err(SecureError::MissingTable {
                context: context.to_string(),
                message: message.clone(),
            });
        }
    }
    Ok(())
}

/// Runs every case of every file; see the module documentation.
pub fn run_tests(
    client: &mut postgres::Client,
    files: &[TestFile],
) -> Result<TestReport, SecureError> {
    validate(client, files)?;
    let mut cases = Vec::new();
    for file in files {
        for case in &file.cases {
            let context = case_context(file, case);
            let mut tx = client
                .transaction()
                .map_err(SecureError::db(format!("{context}: begin")))?;
            let outcome = run_setup(&mut tx, file)
                .map_err(|e| SecureError::db(format!("{context}: setup"))(e))?;
            let (passed, message) = match outcome {
                Some(failed @ Outcome::Failed { .. }) => {
                    missing_relation(&format!("{context}: setup"), &failed, &Expect::Denied)?;
                    (false, format!("setup failed: {}", failure_text(&failed)))
                }
                _ => {
                    set_claims(&mut tx, &case.actor.role, &case.actor.claims)
                        .and_then(|_| set_settings(&mut tx, &case.actor.settings))
                        .and_then(|_| set_role(&mut tx, &case.actor.role))
                        .map_err(SecureError::db(format!(
                            "{context}: impersonating {} (SET ROLE)",
                            case.actor.role
                        )))?;
                    let outcome = run_statement(&mut tx, &case.sql)
                        .map_err(SecureError::db(context.clone()))?;
                    missing_relation(&context, &outcome, &case.expect)?;
                    judge(&case.expect, &outcome)
                }
            };
            // Dropping the transaction rolls it back.
            drop(tx);
            cases.push(CaseResult {
                file: file.path.display().to_string(),
                name: case.name.clone(),
                passed,
                message,
            });
        }
    }
    let passed = cases.iter().filter(|c| c.passed).count();
    Ok(TestReport {
        passed,
        failed: cases.len() - passed,
        cases,
    })
}

/// Runs the setup statements; `Some(Failed)` when one fails.
pub(crate) fn run_setup(
    tx: &mut Transaction,
    file: &TestFile,
) -> Result<Option<Outcome>, postgres::Error> {
    for statement in &file.setup {
        let outcome = run_statement(tx, statement)?;
        if let Outcome::Failed { .. } = outcome {
            return Ok(Some(outcome));
        }
    }
    Ok(None)
}
