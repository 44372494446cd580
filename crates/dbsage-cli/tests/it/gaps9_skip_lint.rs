//! The memory of a file applied with an audited `--skip-lint` survives a fresh checkout: it is
//! the committed `dbsage.lint-skipped.toml`, and a checkout without it learns it from the
//! database's audit log when it connects (`status`, `migrate`).

use crate::common;

use std::path::Path;
use std::process::Output;

use common::{stderr, TestProject};
use serde_json::Value;

const DROP_FILE: &str = "migrations/20260102000000_drop_legacy_code.sql";

/// A protected project whose second migration (a column drop, a lint error) went to the
/// database with `--skip-lint` and a reason.
fn skip_linted_project() -> TestProject {
    let p = TestProject::with_config("protected = true\n");
    p.migration(
        "20260101000000",
        "accounts",
        "create table if not exists accounts (\n  id bigint generated always as identity primary key,\n  email text not null,\n  legacy_code text\n);\n",
    );
    p.migration(
        "20260102000000",
        "drop_legacy_code",
        "-- legacy_code was replaced by the billing service's own ids\nalter table accounts drop column if exists legacy_code;\n",
    );
    let (json, code) = p.json(&["migrate", "--local", "--skip-lint"]);
    assert_eq!(code, 0, "{json}");
    let out = p.run(&[
        "migrate",
        "--yes",
        "--skip-lint",
        "--reason",
        "legacy_code unused since the billing cut-over",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("dbsage.lint-skipped.toml: commit it"),
        "{}",
        stderr(&out)
    );
    p
}

/// What a fresh `git clone` has: the committed files, no `.dbsage/`.
fn fresh_checkout(p: &TestProject, with_record: bool) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    common::layouts::copy_dir(&p.root().join("migrations"), &dir.path().join("migrations"));
    std::fs::copy(p.root().join("dbsage.toml"), dir.path().join("dbsage.toml")).unwrap();
    if with_record {
        std::fs::copy(
            p.root().join("dbsage.lint-skipped.toml"),
            dir.path().join("dbsage.lint-skipped.toml"),
        )
        .unwrap();
    }
    dir
}

fn dbsage(root: &Path, args: &[&str]) -> Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_dbsage"))
        .current_dir(root)
        .env("NO_COLOR", "1")
        .env_remove("DATABASE_URL")
        .args(args)
        .output()
        .unwrap()
}

fn migrate_local(root: &Path) -> (Value, i32) {
    let out = dbsage(root, &["migrate", "--local", "--format", "json"]);
    let json = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", stderr(&out)));
    (json, out.status.code().unwrap_or(-1))
}

fn assert_context_for_the_drop(json: &Value) {
    assert_eq!(json["passed"], true, "{json}");
    assert_ne!(json["checks"]["lint"]["status"], "failed", "{json}");
    let context = &json["checks"]["lint"]["context"][0];
    assert_eq!(context["version"], "20260102000000", "{json}");
    assert!(
        context["context"]
            .as_str()
            .unwrap()
            .contains("applied to `test` with an audited --skip-lint"),
        "{context}"
    );
}

#[test]
fn the_committed_record_names_the_file_checksum_who_when_and_why() {
    let p = skip_linted_project();
    let text = std::fs::read_to_string(p.root().join("dbsage.lint-skipped.toml")).unwrap();
    let record: toml::Value = toml::from_str(&text).unwrap();
    let entries = record["skipped"].as_array().unwrap();
    assert_eq!(entries.len(), 1, "{text}");
    let entry = &entries[0];
    assert_eq!(entry["version"].as_str(), Some("20260102000000"));
    assert_eq!(entry["file"].as_str(), Some(DROP_FILE));
    assert_eq!(entry["environment"].as_str(), Some("test"));
    assert!(entry["by"].as_str().unwrap().contains('@'), "{text}");
    assert!(entry["at"].as_str().unwrap().starts_with("20"), "{text}");
    assert!(
        entry["reason"].as_str().unwrap().starts_with(
            "legacy_code unused since the billing cut-over (--skip-lint with 1 lint error"
        ),
        "{text}"
    );
    // The checksum is the one dbsage's history holds for the applied file.
    let applied: String = p
        .client()
        .query_one(
            "select checksum from dbsage.schema_migrations where version = '20260102000000'",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(entry["checksum"].as_str(), Some(applied.as_str()));
    // The audit log's event lists the file, so other checkouts can read it back.
    let details: String = p
        .client()
        .query_one(
            "select details::text from dbsage.migration_events where event = 'lint_skipped'",
            &[],
        )
        .unwrap()
        .get(0);
    assert!(details.contains(&applied), "{details}");
}

#[test]
fn a_fresh_checkout_passes_migrate_local_and_an_edited_skipped_file_is_judged_again() {
    let p = skip_linted_project();
    let clone = fresh_checkout(&p, true);
    assert!(!clone.path().join(".dbsage").exists());
    let (json, code) = migrate_local(clone.path());
    assert_eq!(code, 0, "{json}");
    assert_context_for_the_drop(&json);

    // Someone edits the skipped file afterwards: the override was for the old content only.
    std::fs::write(
        clone.path().join(DROP_FILE),
        "-- legacy_code was replaced by the billing service's own ids\nalter table accounts drop column if exists legacy_code;\nalter table accounts drop column if exists email;\n",
    )
    .unwrap();
    let (json, code) = migrate_local(clone.path());
    assert_eq!(code, 1, "{json}");
    assert_eq!(json["checks"]["lint"]["status"], "failed", "{json}");
    assert!(
        json["checks"]["lint"]["context"]
            .as_array()
            .is_none_or(Vec::is_empty),
        "{json}"
    );
}

#[test]
fn the_old_checkout_local_record_is_still_read() {
    let p = skip_linted_project();
    let clone = fresh_checkout(&p, false);
    let checksum: String = p
        .client()
        .query_one(
            "select checksum from dbsage.schema_migrations where version = '20260102000000'",
            &[],
        )
        .unwrap()
        .get(0);
    std::fs::create_dir(clone.path().join(".dbsage")).unwrap();
    std::fs::write(
        clone.path().join(".dbsage/lint-skipped.json"),
        format!(
            r#"{{"applied": [{{"version": "20260102000000", "checksum": "{checksum}", "environment": "test", "at": "2026-01-02T10:00:00Z"}}]}}"#
        ),
    )
    .unwrap();
    let (json, code) = migrate_local(clone.path());
    assert_eq!(code, 0, "{json}");
    assert_context_for_the_drop(&json);
}

#[test]
fn a_checkout_without_the_record_learns_it_from_the_audit_log() {
    let p = skip_linted_project();

    // `status` connects, reads the audit log and writes the record.
    let clone = fresh_checkout(&p, false);
    let (json, code) = migrate_local(clone.path());
    assert_eq!(code, 1, "without the record the drop fails lint: {json}");
    let out = dbsage(clone.path(), &["status"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("1 file applied to `test` with an audited --skip-lint (20260102000000) in dbsage.lint-skipped.toml: commit it"),
        "{}",
        stderr(&out)
    );
    let (json, code) = migrate_local(clone.path());
    assert_eq!(code, 0, "{json}");
    assert_context_for_the_drop(&json);
    // Learnt once: a second status has nothing to add.
    let out = dbsage(clone.path(), &["status"]);
    assert!(!stderr(&out).contains("Recorded"), "{}", stderr(&out));

    // The protected `migrate` learns it too, before its gates (here: no local pass yet).
    let clone = fresh_checkout(&p, false);
    let out = dbsage(clone.path(), &["migrate", "--yes"]);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    let record = std::fs::read_to_string(clone.path().join("dbsage.lint-skipped.toml")).unwrap();
    assert!(record.contains("version = \"20260102000000\""), "{record}");
    let (json, code) = migrate_local(clone.path());
    assert_eq!(code, 0, "{json}");

    // An entry whose checksum no longer matches the applied one is not learnt as an excuse.
    let clone = fresh_checkout(&p, false);
    p.client()
        .batch_execute("update dbsage.schema_migrations set checksum = 'edited' where version = '20260102000000'")
        .unwrap();
    let out = dbsage(clone.path(), &["status"]);
    assert!(!stderr(&out).contains("Recorded"), "{}", stderr(&out));
    assert!(!clone.path().join("dbsage.lint-skipped.toml").exists());
}

#[test]
fn a_record_left_with_merge_conflict_markers_is_an_error_at_its_line() {
    let p = TestProject::new();
    p.migration(
        "20260102000000",
        "drop_legacy_code",
        "alter table if exists accounts drop column if exists legacy_code;\n",
    );
    std::fs::write(
        p.root().join("dbsage.lint-skipped.toml"),
        "format = 1\n\n<<<<<<< HEAD\n[[skipped]]\nversion = \"20260102000000\"\nchecksum = \"abc\"\nenvironment = \"production\"\nat = \"2026-01-02T10:00:00Z\"\n=======\n>>>>>>> feature/reports\n",
    )
    .unwrap();
    let out = p.run(&["migrate", "--local"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("dbsage.lint-skipped.toml"), "{err}");
    assert!(err.contains("line 3"), "{err}");
    let out = p.run(&["lint"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
}
