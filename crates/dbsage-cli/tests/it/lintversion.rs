//! Issue 16, "The linter knows the target version": `dbsage lint` judges the migrations against
//! the PostgreSQL version they will run on, taken from `--pg-version`, `DBSAGE_PG_VERSION`,
//! `[local] pg_version`, supabase/config.toml `[db] major_version`, else the server the local
//! clusters run.

use crate::common;

use common::{stderr, stdout, TestProject};
use serde_json::Value;

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/lintversion");
const MERGE_FILE: &str = "20260302000000_apply_deliveries.sql";

/// A project holding the fixture migrations (a `MERGE … RETURNING` in the second file).
fn project(extra_config: &str) -> TestProject {
    let p = TestProject::with_config(extra_config);
    for entry in std::fs::read_dir(FIXTURES).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(
            entry.path(),
            p.root().join("migrations").join(entry.file_name()),
        )
        .unwrap();
    }
    p
}

/// `dbsage lint --format json` with `env` set (and no DBSAGE_PG_VERSION from the caller).
fn lint(p: &TestProject, args: &[&str], env: &[(&str, &str)]) -> (Vec<Value>, i32) {
    let mut cmd = p.cmd();
    cmd.env_remove("DBSAGE_PG_VERSION")
        .arg("lint")
        .args(args)
        .args(["--format", "json"]);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    let json: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}\n{}", stdout(&out), stderr(&out)));
    (json.as_array().unwrap().clone(), out.status.code().unwrap())
}

fn version_findings(findings: &[Value]) -> Vec<&Value> {
    findings
        .iter()
        .filter(|f| f["rule"] == "requires-newer-postgres")
        .collect()
}

#[test]
fn merge_returning_is_an_error_at_file_line_on_15() {
    let p = project("");
    let (findings, code) = lint(&p, &["--pg-version", "15"], &[]);
    assert_eq!(code, 1, "{findings:#?}");
    let found = version_findings(&findings);
    assert_eq!(found.len(), 1, "{findings:#?}");
    assert_eq!(found[0]["severity"], "error");
    assert!(found[0]["file"].as_str().unwrap().ends_with(MERGE_FILE));
    assert_eq!(
        (found[0]["line"].as_u64(), found[0]["column"].as_u64()),
        (Some(2), Some(1))
    );
    assert_eq!(
        found[0]["message"],
        "MERGE … RETURNING needs PostgreSQL 17 or later; the target is PostgreSQL 15"
    );
    // The same from the environment, in the human format.
    let out = p
        .cmd()
        .args(["lint"])
        .env("DBSAGE_PG_VERSION", "15.18")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    assert!(text.contains(&format!("{MERGE_FILE}:2:1")), "{text}");
    assert!(text.contains("requires-newer-postgres"), "{text}");
    // 16 is still too old; 17 accepts it.
    assert_eq!(
        version_findings(&lint(&p, &["--pg-version", "16"], &[]).0).len(),
        1
    );
    let (findings, code) = lint(&p, &["--pg-version", "17"], &[]);
    assert!(version_findings(&findings).is_empty(), "{findings:#?}");
    assert_eq!(code, 0, "{findings:#?}");
}

#[test]
fn local_pg_version_17_is_clean_and_the_flag_and_env_win() {
    let p = project("\n[local]\npg_version = 17\n");
    let (findings, code) = lint(&p, &[], &[]);
    assert!(version_findings(&findings).is_empty(), "{findings:#?}");
    assert_eq!(code, 0, "{findings:#?}");
    assert_eq!(
        version_findings(&lint(&p, &["--pg-version", "15"], &[]).0).len(),
        1
    );
    assert_eq!(
        version_findings(&lint(&p, &[], &[("DBSAGE_PG_VERSION", "15")]).0).len(),
        1
    );
}

#[test]
fn supabase_major_version_decides_when_dbsage_toml_does_not() {
    let p = project("");
    std::fs::create_dir(p.root().join("supabase")).unwrap();
    let config = p.root().join("supabase/config.toml");
    std::fs::write(
        &config,
        "project_id = \"shop\"\n\n[db]\nport = 54322\nmajor_version = 17\n",
    )
    .unwrap();
    let (findings, _) = lint(&p, &[], &[]);
    assert!(version_findings(&findings).is_empty(), "{findings:#?}");
    std::fs::write(
        &config,
        "project_id = \"shop\"\n\n[db]\nport = 54322\nmajor_version = 15\n",
    )
    .unwrap();
    let (findings, code) = lint(&p, &[], &[]);
    assert_eq!(version_findings(&findings).len(), 1, "{findings:#?}");
    assert_eq!(code, 1);
    // dbsage.toml says what production runs, over the local Supabase stack's version.
    std::fs::write(
        p.root().join("dbsage.toml"),
        format!(
            "{}\n[local]\npg_version = 17\n",
            std::fs::read_to_string(p.root().join("dbsage.toml")).unwrap()
        ),
    )
    .unwrap();
    assert!(version_findings(&lint(&p, &[], &[]).0).is_empty());
}

#[test]
fn without_configuration_the_server_local_clusters_run_is_the_target() {
    let p = project("");
    // The same fallback as the local clusters (pg_version): the system server before the cache.
    let local = dbsage_cluster::PgInstall::find_major(None)
        .expect("a server is installed")
        .major;
    let (findings, _) = lint(&p, &[], &[]);
    assert_eq!(
        version_findings(&findings).len(),
        usize::from(local < 17),
        "local server {local}: {findings:#?}"
    );
}

#[test]
fn a_wrong_version_is_a_usage_error() {
    let p = project("");
    let out = p
        .cmd()
        .args(["lint"])
        .env("DBSAGE_PG_VERSION", "latest")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stdout(&out));
    assert!(
        stderr(&out).contains("DBSAGE_PG_VERSION=latest"),
        "{}",
        stderr(&out)
    );
    let out = p.run(&["lint", "--pg-version", "seventeen"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn explain_documents_the_rule() {
    let p = project("");
    let out = p.run(&["lint", "--explain", "requires-newer-postgres"]);
    assert_eq!(out.status.code(), Some(0));
    let doc = stdout(&out);
    assert!(
        doc.starts_with("requires-newer-postgres (error by default)"),
        "{doc}"
    );
    assert!(doc.contains("MERGE … RETURNING"), "{doc}");
    assert!(doc.contains("pg_version"), "{doc}");
}

#[test]
fn the_migrate_gate_judges_against_the_target_too() {
    // Production runs 15: the local replay stops at lint before applying anything.
    let p = project("\n[local]\npg_version = 15\n");
    let out = p
        .cmd()
        .env_remove("DBSAGE_PG_VERSION")
        .args(["migrate", "--local", "--format", "json"])
        .output()
        .unwrap();
    let json: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}\n{}", stdout(&out), stderr(&out)));
    assert_eq!(out.status.code(), Some(1), "{json}");
    let lint = &json["checks"]["lint"];
    assert_eq!(lint["status"], "failed", "{json}");
    assert!(
        lint["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["rule"] == "requires-newer-postgres" && f["line"] == 2),
        "{json}"
    );
    assert_eq!(json["applied"].as_array().unwrap().len(), 0, "{json}");
}
