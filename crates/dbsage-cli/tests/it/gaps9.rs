//! Issue 9's last gaps through the binary: `rollback` keeps the adopted tool's history in step,
//! and the standalone `lint` treats the adopted baseline and the tools' own transactions the
//! way `migrate` does.

use crate::common;

use std::path::Path;
use std::process::Output;

use common::layouts::{adopt, copy_dir};
use common::{stderr, stdout, TestProject};
use serde_json::Value;

/// Applies every pending migration with dbsage, then rolls back `steps`.
fn migrate_then_roll_back(p: &TestProject, steps: &str) {
    let (json, code) = p.json(&["migrate"]);
    assert_eq!(code, 0, "{json}");
    let (json, code) = p.json(&["rollback", "--steps", steps]);
    assert_eq!(code, 0, "{json}");
    assert_eq!(
        json["rolled_back"].as_array().map(Vec::len),
        Some(steps.parse().unwrap()),
        "{json}"
    );
}

#[test]
fn rollback_removes_prismas_rows_so_prisma_sees_them_as_not_applied() {
    let (p, _) = adopt("prisma");
    // Down files the way Prisma's docs generate them (`prisma migrate diff … > down.sql`).
    let folders = p.root().join("prisma/migrations");
    std::fs::write(
        folders.join("20240115091500_posts_author_index/down.sql"),
        "-- dbsage:no-transaction\nDROP INDEX CONCURRENTLY \"Post_authorId_idx\";\n",
    )
    .unwrap();
    std::fs::write(
        folders.join("20240112140000_add_posts/down.sql"),
        "-- DropForeignKey\nALTER TABLE \"Post\" DROP CONSTRAINT \"Post_authorId_fkey\";\n\n-- DropTable\nDROP TABLE \"Post\";\n",
    )
    .unwrap();
    migrate_then_roll_back(&p, "2");
    let names: Vec<String> = p
        .client()
        .query(
            "select migration_name from _prisma_migrations order by migration_name",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(names, ["20240110083000_init"]);
    assert_eq!(p.history(), ["20240110083000"]);
}

#[test]
fn rollback_removes_diesels_row() {
    let (p, _) = adopt("diesel");
    migrate_then_roll_back(&p, "1");
    let versions: Vec<String> = p
        .client()
        .query(
            "select version from __diesel_schema_migrations order by version",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(versions, ["00000000000000", "20240201101500"]);
}

#[test]
fn rollback_moves_golang_migrates_row_back_then_removes_it() {
    let (p, _) = adopt("golang-migrate");
    let rows = |p: &TestProject| -> Vec<(i64, bool)> {
        p.client()
            .query("select version, dirty from schema_migrations", &[])
            .unwrap()
            .iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect()
    };
    migrate_then_roll_back(&p, "1");
    assert_eq!(rows(&p), [(2, false)], "the previous applied version");
    let (json, code) = p.json(&["rollback", "--steps", "2"]);
    assert_eq!(code, 0, "{json}");
    assert_eq!(rows(&p), [], "nothing is applied any more");
    assert!(p.history().is_empty());
}

const BASELINE_REASON: &str = "at or before the baseline 20240105083000";

/// A copy of the adopted Supabase "helpdesk" project: its first file (applied by the Supabase
/// CLI, at the baseline) drops a legacy table, the next one holds its own BEGIN/COMMIT.
fn helpdesk() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/gaps9/supabase-helpdesk"),
        dir.path(),
    );
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

fn lint_json(root: &Path, files: &[&str]) -> (Vec<Value>, i32) {
    let mut args = vec!["lint", "--format", "json"];
    args.extend(files);
    let out = dbsage(root, &args);
    let list = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}\n{}", stdout(&out), stderr(&out)));
    (list, out.status.code().unwrap())
}

fn rules(list: &[Value]) -> Vec<&str> {
    list.iter().map(|f| f["rule"].as_str().unwrap()).collect()
}

#[test]
fn lint_shows_findings_at_or_before_the_baseline_as_context_and_passes() {
    let p = helpdesk();
    let out = dbsage(p.path(), &["lint"]);
    let report = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{report}\n{}", stderr(&out));
    assert!(
        report.contains(&format!(
            "context, not failing: 6 lint findings in files {BASELINE_REASON}"
        )),
        "{report}"
    );
    assert!(report.contains("error[destructive-statement]"), "{report}");
    assert!(
        report.contains("end of context: these 6 findings do not fail the run"),
        "{report}"
    );
}

#[test]
fn lint_json_labels_context_findings_like_migrate_local() {
    let p = helpdesk();
    let (list, code) = lint_json(p.path(), &[]);
    assert_eq!(code, 0, "{list:?}");
    let drop = list
        .iter()
        .find(|f| f["rule"] == "destructive-statement")
        .expect("the baseline file's DROP TABLE is still shown");
    assert_eq!(drop["severity"], "error");
    assert!(
        drop["context"]
            .as_str()
            .unwrap()
            .starts_with(BASELINE_REASON),
        "{drop}"
    );
    assert!(list.iter().all(|f| f["context"].is_string()), "{list:?}");
}

#[test]
fn lint_without_the_baseline_fails_on_the_same_finding() {
    let p = helpdesk();
    let toml = p.path().join("dbsage.toml");
    let text = std::fs::read_to_string(&toml).unwrap();
    std::fs::write(&toml, text.replace("baseline = ", "# baseline = ")).unwrap();
    let (list, code) = lint_json(p.path(), &[]);
    assert_eq!(code, 1, "{list:?}");
    let drop = list
        .iter()
        .find(|f| f["rule"] == "destructive-statement")
        .unwrap();
    assert!(drop.get("context").is_none(), "{drop}");
}

#[test]
fn lint_of_named_files_keeps_the_baseline_context() {
    let p = helpdesk();
    let (list, code) = lint_json(
        p.path(),
        &["supabase/migrations/20240105083000_tickets.sql"],
    );
    assert_eq!(code, 0, "{list:?}");
    assert!(rules(&list).contains(&"destructive-statement"), "{list:?}");
    assert!(list.iter().all(|f| f["context"].is_string()), "{list:?}");
}

#[test]
fn lint_drops_transaction_control_of_adopted_files_with_their_own_transaction() {
    let p = helpdesk();
    for files in [
        &[][..],
        &["supabase/migrations/20240112091500_close_stale_tickets.sql"][..],
    ] {
        let (list, code) = lint_json(p.path(), files);
        assert_eq!(code, 0, "{files:?}: {list:?}");
        assert!(
            !rules(&list).contains(&"explicit-transaction-control"),
            "{files:?}: {list:?}"
        );
    }
}

#[test]
fn lint_keeps_refusing_transaction_control_in_dbsage_native_files() {
    let p = TestProject::new();
    p.migration(
        "20260105083000",
        "close_stale_tickets",
        "begin;\ncreate table if not exists closed_tickets (id bigint primary key);\ncommit;\n",
    );
    let (list, code) = lint_json(p.root(), &[]);
    assert_eq!(code, 1, "{list:?}");
    assert!(
        rules(&list).contains(&"explicit-transaction-control"),
        "{list:?}"
    );
}
