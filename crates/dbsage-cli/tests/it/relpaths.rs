//! Paths in error output are relative to the current directory, like every other path dbsage
//! prints (issue 10): a migration error seen from a subdirectory points at `../migrations/…`.

use crate::common;

use common::{stderr, stdout, TestProject};

#[test]
fn a_migration_error_names_its_file_relative_to_the_current_directory() {
    let p = TestProject::new();
    p.migration(
        "20261201000000",
        "bad",
        "create table t (id bigint primary key);\nselect nosuch from t;\n",
    );
    let root = p.root().canonicalize().unwrap();
    let sub = p.root().join("app");
    std::fs::create_dir_all(&sub).unwrap();

    let from_root = p.run(&["migrate", "--local", "--skip-lint"]);
    let text = stderr(&from_root);
    assert_eq!(from_root.status.code(), Some(1), "{text}");
    assert!(
        text.contains("error: migrations/20261201000000_bad.sql:2:8:"),
        "{text}"
    );

    let human = p
        .cmd()
        .current_dir(&sub)
        .args(["migrate", "--local", "--skip-lint"])
        .output()
        .unwrap();
    let text = stderr(&human);
    assert!(
        text.contains("error: ../migrations/20261201000000_bad.sql:2:8:"),
        "{text}"
    );
    assert!(!text.contains(root.to_str().unwrap()), "{text}");

    let json = p
        .cmd()
        .current_dir(&sub)
        .args(["migrate", "--local", "--skip-lint", "--format", "json"])
        .output()
        .unwrap();
    let value: serde_json::Value = serde_json::from_str(&stdout(&json)).unwrap();
    assert_eq!(
        value["error"]["file"], "../migrations/20261201000000_bad.sql",
        "{value}"
    );
}
