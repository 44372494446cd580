//! Adopted-layout fixture projects (`tests/fixtures/layouts/<name>`) copied into a test project
//! and adopted with `init --adopt`.

use serde_json::Value;

use super::TestProject;

pub fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap().flatten() {
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), target).unwrap();
        }
    }
}

/// Copies the fixture project `name` into a fresh test project, runs `init --adopt` there and
/// points the default environment at the test's cluster. Returns the `adopted` JSON.
pub fn adopt(name: &str) -> (TestProject, Value) {
    let p = TestProject::new();
    std::fs::remove_file(p.root().join("dbsage.toml")).unwrap();
    std::fs::remove_dir(p.root().join("migrations")).unwrap();
    let fixture = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures/layouts")
        .join(name);
    copy_dir(&fixture, p.root());
    let (json, code) = p.json(&["init", "--adopt", "--no-check"]);
    assert_eq!(code, 0, "{json}");
    let toml = std::fs::read_to_string(p.root().join("dbsage.toml")).unwrap();
    std::fs::write(
        p.root().join("dbsage.toml"),
        format!(
            "{}\n[environments.test]\nurl = \"{}\"\n",
            toml.replace(
                "default_environment = \"dev\"",
                "default_environment = \"test\""
            ),
            p.cluster.url("postgres")
        ),
    )
    .unwrap();
    (p, json["adopted"].clone())
}
