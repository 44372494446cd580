//! Configuration from `dbsage.toml` and the rule documentation.

use dbsage_lint::{explain, lint, rules, ConfigError, LintConfig, Severity, SourceFile};

fn config(toml_text: &str) -> LintConfig {
    #[derive(serde::Deserialize)]
    struct File {
        #[serde(default)]
        lint: LintConfig,
    }
    toml::from_str::<File>(toml_text).unwrap().lint
}

fn one(text: &str) -> Vec<SourceFile> {
    vec![SourceFile {
        path: "migrations/20240101000000_x.sql".into(),
        text: text.into(),
    }]
}

#[test]
fn severities_can_be_overridden_and_turned_off() {
    let c = config(
        "[lint]\nrules = { \"missing-table-comment\" = \"off\", \"missing-primary-key\" = \"error\", \"destructive-statement\" = \"warning\" }\n",
    );
    let findings = lint(&one("create table t (a int);\ndrop table x;"), &c).unwrap();
    assert!(!findings.iter().any(|f| f.rule == "missing-table-comment"));
    let pk = findings
        .iter()
        .find(|f| f.rule == "missing-primary-key")
        .unwrap();
    assert_eq!(pk.severity, Severity::Error);
    let drop = findings
        .iter()
        .find(|f| f.rule == "destructive-statement")
        .unwrap();
    assert_eq!(drop.severity, Severity::Warning);
}

#[test]
fn defaults_apply_without_a_lint_table() {
    let c = config("");
    assert_eq!(c.exposed_schemas, ["public"]);
    assert_eq!(c.timestamp_columns, ["created_at", "updated_at"]);
}

#[test]
fn unknown_rule_ids_are_a_clear_error() {
    let c = config("[lint]\nrules = { \"missing-table-coment\" = \"off\" }\n");
    let err = lint(&one("select 1;"), &c).unwrap_err();
    assert!(matches!(&err, ConfigError::UnknownRule { id, .. } if id == "missing-table-coment"));
    assert!(
        err.to_string().contains("missing-table-comment"),
        "lists the valid ids: {err}"
    );
}

#[test]
fn unknown_keys_and_levels_are_rejected() {
    #[derive(serde::Deserialize, Debug)]
    #[allow(dead_code)]
    struct File {
        lint: LintConfig,
    }
    assert!(toml::from_str::<File>("[lint]\nrulez = {}\n").is_err());
    assert!(toml::from_str::<File>("[lint]\nrules = { \"ban-char\" = \"fatal\" }\n").is_err());
}

#[test]
fn every_rule_is_documented() {
    let all = rules();
    assert!(all.len() >= 41);
    let mut ids: Vec<&str> = all.iter().map(|r| r.id).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), all.len(), "ids are unique");
    for rule in &all {
        let doc = explain(rule.id).unwrap().replace('\n', " ");
        for section in [
            "## What it checks",
            "## Why it matters",
            "## Example",
            "Use instead:",
            "## Fix",
            "Default severity",
        ] {
            assert!(doc.contains(section), "{} lacks {section}", rule.id);
        }
        assert!(
            rule.id.chars().all(|c| c.is_ascii_lowercase() || c == '-'),
            "{}",
            rule.id
        );
    }
    assert!(explain("no-such-rule").is_none());
}

#[test]
fn issue_rule_ids_exist() {
    let required = [
        "non-idempotent-create",
        "non-idempotent-add-column",
        "non-idempotent-policy",
        "non-idempotent-constraint",
        "non-idempotent-drop",
        "explicit-transaction-control",
        "migration-filename",
        "rls-not-enabled",
        "rls-enabled-no-policy",
        "policy-per-row-auth-call",
        "policy-always-true",
        "security-definer-search-path",
        "security-definer-view",
        "grant-all-to-anon",
        "foreign-key-without-index",
        "foreign-key-without-on-delete",
        "missing-timestamps",
        "missing-table-comment",
        "missing-primary-key",
        "prefer-timestamptz",
        "prefer-text-over-varchar",
        "prefer-bigint-id",
        "prefer-identity",
        "ban-char",
        "destructive-statement",
        "index-not-concurrent",
        "drop-index-not-concurrent",
        "concurrently-in-transaction",
        "constraint-not-valid",
        "validate-in-same-transaction",
        "set-not-null-existing",
        "add-required-column",
        "add-column-volatile-default",
        "column-type-change",
        "unique-constraint-existing",
        "rename-breaks-clients",
        "vacuum-full-or-cluster",
        "refresh-matview-blocking",
        "syntax-error",
        "unused-ignore",
    ];
    for id in required {
        assert!(explain(id).is_some(), "{id}");
    }
    let errors: Vec<&str> = rules()
        .iter()
        .filter(|r| r.default_severity == Severity::Error)
        .map(|r| r.id)
        .collect();
    for id in [
        "syntax-error",
        "concurrently-in-transaction",
        "destructive-statement",
        "add-required-column",
    ] {
        assert!(errors.contains(&id), "{id} is an error by default");
    }
}
