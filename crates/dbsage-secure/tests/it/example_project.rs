//! End to end on the repository's Supabase example: migrations and seed applied on the
//! compatibility layer, then its own `tests/rls/*.toml` run, the audit and coverage computed.

use crate::common;

use std::path::PathBuf;

use dbsage_secure::{audit, coverage, load_tests, run_tests, AuditOptions, Severity};

fn example() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples/supabase-saas")
}

#[test]
fn example_project_policies_hold() {
    let root = example();
    if !root.join("tests/rls").is_dir() {
        eprintln!("examples/supabase-saas not present; nothing to check");
        return;
    }
    let (_cluster, mut client) = common::start();
    let mut migrations: Vec<PathBuf> = std::fs::read_dir(root.join("supabase/migrations"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "sql"))
        .collect();
    migrations.sort();
    for m in &migrations {
        client
            .batch_execute(&std::fs::read_to_string(m).unwrap())
            .unwrap_or_else(|e| panic!("{}: {e}", m.display()));
    }
    client
        .batch_execute(&std::fs::read_to_string(root.join("supabase/seed.sql")).unwrap())
        .unwrap();

    let files = load_tests(&root.join("tests/rls")).unwrap();
    let report = run_tests(&mut client, &files).unwrap();
    assert!(report.passed > 0);
    assert_eq!(report.failed, 0, "{report:#?}");

    let findings = audit(&mut client, &AuditOptions::default()).unwrap();
    eprintln!("{findings:#?}");
    assert!(
        findings.iter().all(|f| f.severity != Severity::Error),
        "the example has error findings: {findings:#?}"
    );

    let cov = coverage(&mut client, &files, &[]).unwrap();
    assert!(cov.unanalysed.is_empty(), "{:?}", cov.unanalysed);
    assert!(cov.cells.iter().any(|c| c.tested));
}
