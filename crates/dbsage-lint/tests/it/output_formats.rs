//! Snapshot tests of every output format on a small fixture set.

use std::path::PathBuf;

use dbsage_lint::{
    lint, render_github, render_human, render_json, render_sarif, LintConfig, SourceFile,
};

fn fixtures() -> Vec<SourceFile> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
        .into_iter()
        .map(|name| SourceFile {
            text: std::fs::read_to_string(dir.join(&name)).unwrap(),
            // Relative paths keep the snapshots independent of the checkout location.
            path: PathBuf::from("migrations").join(name),
        })
        .collect()
}

fn findings() -> (Vec<SourceFile>, Vec<dbsage_lint::Finding>) {
    let files = fixtures();
    let findings = lint(&files, &LintConfig::default()).unwrap();
    (files, findings)
}

#[test]
fn human() {
    let (files, findings) = findings();
    insta::assert_snapshot!(render_human(&findings, &files, false));
}

#[test]
fn human_with_color_has_ansi_codes() {
    let (files, findings) = findings();
    assert!(render_human(&findings, &files, true).contains("\x1b[1;31merror"));
}

#[test]
fn json() {
    let (_, findings) = findings();
    let out = render_json(&findings);
    let parsed: serde_json::Value = serde_json::from_str(&out).unwrap();
    let keys: Vec<&String> = parsed[0].as_object().unwrap().keys().collect();
    assert_eq!(
        keys,
        ["column", "file", "fix", "line", "message", "rule", "severity"]
    );
    insta::assert_snapshot!(out);
}

#[test]
fn github() {
    let (_, findings) = findings();
    insta::assert_snapshot!(render_github(&findings));
}

#[test]
fn sarif() {
    let (_, findings) = findings();
    let out = render_sarif(&findings);
    let log: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(log["version"], "2.1.0");
    let rules = log["runs"][0]["tool"]["driver"]["rules"]
        .as_array()
        .unwrap();
    assert_eq!(rules.len(), dbsage_lint::rules().len());
    assert!(rules.iter().all(|r| r["help"]["text"]
        .as_str()
        .unwrap()
        .contains("## Why it matters")));
    // Results only: the rule list is the docs, checked above and in the rule tests.
    insta::assert_json_snapshot!(log["runs"][0]["results"]);
}

#[test]
fn exit_status_follows_errors() {
    let (_, findings) = findings();
    assert!(dbsage_lint::has_errors(&findings));
    let clean = [fixtures().remove(0)];
    let findings = lint(&clean, &LintConfig::default()).unwrap();
    assert!(findings.is_empty(), "{findings:#?}");
    assert!(!dbsage_lint::has_errors(&findings));
}
