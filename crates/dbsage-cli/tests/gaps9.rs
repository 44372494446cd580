//! Issue 9's last gaps through the binary: `rollback` keeps the adopted tool's history in step,
//! and the standalone `lint` treats the adopted baseline and the tools' own transactions the
//! way `migrate` does.

mod common;

use common::layouts::adopt;
use common::TestProject;

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
