//! The CI recipes in examples/ci run: each `run:` (GitHub) and script line (GitLab) runs in a
//! copy of the Supabase example project with the built dbsage on PATH. Only steps marked
//! `# dbsage-ci: skip-locally` (installs, uploads) are skipped, and they are counted.
//! serde_yaml: the recipes are YAML; a real parser keeps block scalars and quoting right.

use crate::common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{stderr, stdout};

const SKIP: &str = "# dbsage-ci: skip-locally";

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// The Supabase example plus a pgTAP file, in a temp dir.
fn project() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&repo().join("examples/supabase-saas"), dir.path());
    copy_dir(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/toolbox/supabase"),
        &dir.path().join("supabase"),
    );
    dir
}

fn run_step(dir: &Path, name: &str, script: &str) {
    let bin_dir = Path::new(env!("CARGO_BIN_EXE_dbsage")).parent().unwrap();
    let out = Command::new("bash")
        .args(["-eo", "pipefail", "-c", script])
        .current_dir(dir)
        .env(
            "PATH",
            format!("{}:{}", bin_dir.display(), std::env::var("PATH").unwrap()),
        )
        .env("NO_COLOR", "1")
        .env("GITHUB_EVENT_NAME", "pull_request")
        .env_remove("DATABASE_URL")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "step `{name}` failed ({:?}):\n{script}\nstdout:\n{}\nstderr:\n{}",
        out.status.code(),
        stdout(&out),
        stderr(&out)
    );
}

#[test]
fn github_actions_recipe_runs() {
    let text = std::fs::read_to_string(repo().join("examples/ci/github-actions.yml")).unwrap();
    let yaml: serde_yaml::Value = serde_yaml::from_str(&text).unwrap();
    let steps = yaml["jobs"]["dbsage"]["steps"].as_sequence().unwrap();
    // Which steps carry the skip marker: read from the text (YAML drops comments).
    let skipped_names: Vec<String> = text
        .split("\n      - ")
        .filter(|block| block.contains(SKIP))
        .filter_map(|block| block.lines().find_map(|l| l.trim().strip_prefix("name: ")))
        .map(String::from)
        .collect();
    assert_eq!(
        skipped_names,
        ["Install PostgreSQL and dbsage", "Upload lint results"]
    );
    let dir = project();
    let mut ran = Vec::new();
    for step in steps {
        let name = step["name"].as_str().unwrap_or("(unnamed)");
        let Some(script) = step["run"].as_str() else {
            assert!(
                skipped_names.iter().any(|s| s == name)
                    || step["uses"]
                        .as_str()
                        .is_some_and(|u| u.starts_with("actions/checkout")),
                "step `{name}` neither runs nor is marked {SKIP}"
            );
            continue;
        };
        if skipped_names.iter().any(|s| s == name) {
            continue;
        }
        run_step(dir.path(), name, script);
        ran.push(script.to_string());
    }
    for command in [
        "lint --format sarif",
        "lint --format github",
        "migrate --local",
        "dbsage test",
        "secure test",
    ] {
        assert!(
            ran.iter().any(|s| s.contains(command)),
            "no step ran `{command}`"
        );
    }
    let sarif: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("dbsage.sarif")).unwrap()).unwrap();
    assert_eq!(sarif["version"], "2.1.0");
}

#[test]
fn gitlab_recipe_runs() {
    let text = std::fs::read_to_string(repo().join("examples/ci/gitlab-ci.yml")).unwrap();
    let yaml: serde_yaml::Value = serde_yaml::from_str(&text).unwrap();
    let job = &yaml["dbsage"];
    let skipped_lines: Vec<&str> = text.lines().filter(|l| l.contains(SKIP)).collect();
    assert_eq!(skipped_lines.len(), 2);
    let dir = project();
    let mut ran = 0;
    for key in ["before_script", "script"] {
        for line in job[key].as_sequence().unwrap() {
            let script = line.as_str().unwrap();
            // YAML drops the comment: match the command against the marked lines.
            if skipped_lines.iter().any(|l| l.contains(script)) {
                continue;
            }
            run_step(dir.path(), key, script);
            ran += 1;
        }
    }
    assert_eq!(ran, 5);
    assert!(dir.path().join("gl-dbsage.sarif").is_file());
}
