//! Undoing the other tool's history row when dbsage rolls a migration back (Drizzle has no
//! down files, so the CLI cannot roll a Drizzle project back: its row is checked here).

use dbsage_cluster::Cluster;
use dbsage_supabase::{forget_tool_history, record_tool_history, AppliedFile, Layout};

#[test]
fn drizzle_row_of_the_rolled_back_file_is_deleted() {
    let cluster = Cluster::start().unwrap();
    let mut client = cluster.connect("postgres").unwrap();
    let file = |version| AppliedFile {
        version,
        name: "x",
        text: "CREATE TABLE \"teams\" (\"id\" serial PRIMARY KEY NOT NULL);\n",
    };
    for version in ["1714470000000", "1715079600000"] {
        let mut tx = client.transaction().unwrap();
        record_tool_history(&mut tx, Layout::Drizzle, file(version)).unwrap();
        tx.commit().unwrap();
    }
    let mut tx = client.transaction().unwrap();
    forget_tool_history(
        &mut tx,
        Layout::Drizzle,
        file("1715079600000"),
        Some("1714470000000"),
    )
    .unwrap();
    tx.commit().unwrap();
    let left: Vec<i64> = client
        .query("select created_at from drizzle.__drizzle_migrations", &[])
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(left, [1714470000000]);
}

#[test]
fn a_missing_history_table_is_left_missing() {
    let cluster = Cluster::start().unwrap();
    let mut client = cluster.connect("postgres").unwrap();
    let file = AppliedFile {
        version: "3",
        name: "x",
        text: "",
    };
    for layout in [
        Layout::Prisma,
        Layout::Diesel,
        Layout::GolangMigrate,
        Layout::Drizzle,
    ] {
        let mut tx = client.transaction().unwrap();
        forget_tool_history(&mut tx, layout, file, None).unwrap();
        tx.commit().unwrap();
    }
    let tables: i64 = client
        .query_one(
            "select count(*) from pg_class where relname in ('_prisma_migrations', '__diesel_schema_migrations', 'schema_migrations', '__drizzle_migrations')",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(tables, 0);
}
