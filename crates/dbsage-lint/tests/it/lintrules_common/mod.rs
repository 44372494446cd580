//! Shared by the `lintrules_*` tests: lint SQL as the last migration, on both paths.

#![allow(dead_code)]

use dbsage_lint::{lint, Finding, LintConfig, SourceFile};

/// A table that exists before the migration under test.
pub const EXISTING: &str =
    "create table if not exists t (id bigint generated always as identity primary key, a text, b int);";

pub const UNDER_TEST: &str = "migrations/20250101000000_under_test.sql";

/// Lints `sql` after the `history` migrations with `config`, whole and in chunks of two
/// statements; asserts both paths agree and returns the findings in the file under test.
pub fn lint_last_with(history: &[&str], sql: &str, config: &LintConfig) -> Vec<Finding> {
    let mut files: Vec<SourceFile> = history
        .iter()
        .enumerate()
        .map(|(i, text)| SourceFile {
            path: format!(
                "migrations/{}_history_{i}.sql",
                20240101000000u64 + i as u64
            )
            .into(),
            text: text.to_string(),
        })
        .collect();
    files.push(SourceFile {
        path: UNDER_TEST.into(),
        text: sql.to_string(),
    });
    let whole = LintConfig {
        threads: 1,
        ..config.clone()
    };
    let chunked = LintConfig {
        chunked_above_bytes: 0,
        chunk_statements: 2,
        ..whole.clone()
    };
    let keep = |findings: Vec<Finding>| -> Vec<Finding> {
        findings
            .into_iter()
            .filter(|f| f.file.to_str() == Some(UNDER_TEST))
            .collect()
    };
    let findings = keep(lint(&files, &whole).unwrap());
    let in_chunks = keep(lint(&files, &chunked).unwrap());
    assert_eq!(
        summary(&findings),
        summary(&in_chunks),
        "the whole-file and chunked paths disagree"
    );
    findings
}

pub fn lint_last(history: &[&str], sql: &str) -> Vec<Finding> {
    lint_last_with(history, sql, &LintConfig::default())
}

fn summary(findings: &[Finding]) -> Vec<(String, usize, usize, String)> {
    findings
        .iter()
        .map(|f| (f.rule.clone(), f.line, f.column, f.message.clone()))
        .collect()
}

/// The lines of `rule`'s findings.
pub fn rules_at(findings: &[Finding], rule: &str) -> Vec<usize> {
    findings
        .iter()
        .filter(|f| f.rule == rule)
        .map(|f| f.line)
        .collect()
}

/// The messages of `rule`'s findings.
pub fn messages(findings: &[Finding], rule: &str) -> Vec<String> {
    findings
        .iter()
        .filter(|f| f.rule == rule)
        .map(|f| f.message.clone())
        .collect()
}
