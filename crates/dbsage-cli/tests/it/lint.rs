//! `dbsage lint` through the binary, and the lint gate of protected environments.

use crate::common;

use common::{stderr, stdout, TestProject};

const M1: &str = "20260101000000";
const M2: &str = "20260102000000";

#[test]
fn lint_reports_findings_in_every_format_and_exits_1_on_errors() {
    let p = TestProject::new();
    p.migration(
        M1,
        "users",
        "create table if not exists users (id bigint primary key);\n",
    );
    p.migration(M2, "drop", "select 1;\ndrop table users;\n");
    let (json, code) = p.json(&["lint"]);
    assert_eq!(code, 1);
    let findings = json.as_array().unwrap();
    let drop = findings
        .iter()
        .find(|f| f["rule"] == "destructive-statement")
        .unwrap();
    assert_eq!(drop["severity"], "error");
    assert_eq!(drop["line"], 2);
    assert_eq!(drop["column"], 1);
    assert!(drop["file"]
        .as_str()
        .unwrap()
        .ends_with(&format!("{M2}_drop.sql")));
    let human = p.run(&["lint"]);
    let text = stdout(&human);
    assert!(text.contains("destructive-statement"), "{text}");
    assert!(text.contains(&format!("{M2}_drop.sql:2:1")), "{text}");
    let github = stdout(&p.run(&["lint", "--format", "github"]));
    assert!(github.contains("::error file="), "{github}");
    let sarif: serde_json::Value =
        serde_json::from_str(&stdout(&p.run(&["lint", "--format", "sarif"]))).unwrap();
    assert_eq!(sarif["version"], "2.1.0");
    // Naming one file lints only that file, with the others as context.
    let (json, code) = p.json(&["lint", &format!("migrations/{M1}_users.sql")]);
    assert_eq!(code, 0, "{json}");
    assert!(json
        .as_array()
        .unwrap()
        .iter()
        .all(|f| f["file"].as_str().unwrap().ends_with("_users.sql")));
}

#[test]
fn explain_prints_a_rules_doc() {
    let p = TestProject::new();
    let out = p.run(&["lint", "--explain", "foreign-key-without-index"]);
    assert_eq!(out.status.code(), Some(0));
    let doc = stdout(&out);
    assert!(doc.starts_with("foreign-key-without-index"), "{doc}");
    assert!(doc.to_lowercase().contains("index"), "{doc}");
    let out = p.run(&["lint", "--explain", "no-such-rule"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("--rules"));
}

#[test]
fn changed_lints_only_what_the_environment_has_not_applied() {
    let p = TestProject::new();
    p.migration(M1, "wipe", "-- dbsage:ignore-file destructive-statement legacy cleanup\ncreate table if not exists t (id int);\n");
    assert_eq!(p.run(&["migrate"]).status.code(), Some(0));
    // Edit nothing; add a new pending file with an error, and break the applied one's reason.
    p.migration(M2, "drop", "drop table t;\n");
    let (json, code) = p.json(&["lint", "--changed"]);
    assert_eq!(code, 1);
    let files: Vec<&str> = json
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["file"].as_str().unwrap())
        .collect();
    assert!(files.iter().all(|f| f.ends_with("_drop.sql")), "{files:?}");
}

#[test]
fn protected_migrate_stops_on_lint_errors_unless_overridden_and_audited() {
    let p = TestProject::new();
    let url = p.cluster.create_database("prod").unwrap();
    let toml = std::fs::read_to_string(p.root().join("dbsage.toml")).unwrap();
    std::fs::write(
        p.root().join("dbsage.toml"),
        format!("{toml}\n[environments.prod]\nurl = \"{url}\"\nprotected = true\n"),
    )
    .unwrap();
    p.migration(M1, "users", "create table if not exists users (id int);\n");
    p.migration(M2, "wipe", "delete from users;\n");
    let out = p.run(&["migrate", "--env", "prod", "--yes", "--skip-local-check"]);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("destructive-statement"),
        "{}",
        stderr(&out)
    );
    let out = p.run(&[
        "migrate",
        "--env",
        "prod",
        "--yes",
        "--skip-local-check",
        "--skip-lint",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let mut c = postgres::Client::connect(&url, postgres::NoTls).unwrap();
    let reasons: Vec<String> = c
        .query(
            "select reason from dbsage.migration_events where event = 'lint_skipped'",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(reasons.len(), 1);
    assert!(reasons[0].contains("destructive-statement"), "{reasons:?}");
}
