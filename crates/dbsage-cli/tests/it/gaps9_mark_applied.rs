//! `repair --mark-applied` on adopted layouts writes the other tool's history row too, as
//! `migrate` does, so that tool does not re-apply the file a person ran by hand.

use crate::common;

use common::layouts::adopt;
use common::TestProject;

/// Runs the oldest migration by hand (as a team does in psql), marks it applied, and returns
/// its version.
fn run_first_by_hand_and_mark_it(p: &TestProject, up_file: &str) -> String {
    let (status, code) = p.json(&["status"]);
    assert_eq!(code, 0, "{status}");
    let first = status["migrations"][0]["version"]
        .as_str()
        .unwrap()
        .to_string();
    let sql = std::fs::read_to_string(p.root().join(up_file)).unwrap();
    p.client().batch_execute(&sql).unwrap();
    let (json, code) = p.json(&[
        "repair",
        "--mark-applied",
        &first,
        "--reason",
        "schema created by hand during the outage",
    ]);
    assert_eq!(code, 0, "{json}");
    assert_eq!(json["repaired"]["action"], "marked_applied");
    assert_eq!(p.history(), [first.as_str()]);
    first
}

fn column(p: &TestProject, sql: &str) -> Vec<String> {
    p.client()
        .query(sql, &[])
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect()
}

fn migrate_the_rest(p: &TestProject) {
    let (json, code) = p.json(&["migrate"]);
    assert_eq!(code, 0, "{json}");
    assert_eq!(json["applied"].as_array().map(Vec::len), Some(2), "{json}");
}

#[test]
fn mark_applied_writes_prismas_row() {
    let (p, _) = adopt("prisma");
    run_first_by_hand_and_mark_it(&p, "prisma/migrations/20240110083000_init/migration.sql");
    let rows = "select migration_name || ' ' || checksum || ' ' || (finished_at is not null) from _prisma_migrations order by migration_name";
    // Prisma compares this checksum (SHA-256 of the file) to warn about edited migrations.
    let text = std::fs::read(
        p.root()
            .join("prisma/migrations/20240110083000_init/migration.sql"),
    )
    .unwrap();
    let init_sha: String = p
        .client()
        .query_one("select encode(sha256($1), 'hex')", &[&text])
        .unwrap()
        .get(0);
    assert_eq!(
        column(&p, rows),
        [format!("20240110083000_init {init_sha} true")]
    );
    migrate_the_rest(&p);
    let names = column(
        &p,
        "select migration_name from _prisma_migrations order by migration_name",
    );
    assert_eq!(
        names,
        [
            "20240110083000_init",
            "20240112140000_add_posts",
            "20240115091500_posts_author_index"
        ]
    );
}

#[test]
fn mark_applied_writes_drizzles_row() {
    let (p, _) = adopt("drizzle");
    let first = run_first_by_hand_and_mark_it(&p, "drizzle/0000_brave_sentinel.sql");
    assert_eq!(first, "1714470000000");
    let rows = "select created_at::text from drizzle.__drizzle_migrations order by id";
    assert_eq!(column(&p, rows), ["1714470000000"]);
    migrate_the_rest(&p);
    assert_eq!(
        column(&p, rows),
        ["1714470000000", "1715079600000", "1716289200000"]
    );
}

#[test]
fn mark_applied_writes_diesels_row() {
    let (p, _) = adopt("diesel");
    let first =
        run_first_by_hand_and_mark_it(&p, "migrations/00000000000000_diesel_initial_setup/up.sql");
    let rows = "select version from __diesel_schema_migrations order by version";
    assert_eq!(column(&p, rows), [first.as_str()]);
    migrate_the_rest(&p);
    assert_eq!(
        column(&p, rows),
        [first.as_str(), "20240201101500", "20240203120000"]
    );
}

#[test]
fn mark_applied_writes_golang_migrates_row() {
    let (p, _) = adopt("golang-migrate");
    run_first_by_hand_and_mark_it(&p, "db/migrations/000001_create_accounts.up.sql");
    let row = "select version::text || ' ' || dirty from schema_migrations";
    assert_eq!(column(&p, row), ["1 false"]);
    migrate_the_rest(&p);
    assert_eq!(column(&p, row), ["3 false"]);
}
