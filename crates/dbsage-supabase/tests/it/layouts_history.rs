//! Prisma, diesel and golang-migrate history tables: imported as those tools read them, and
//! written the way they write them when dbsage applies a migration.

use dbsage_cluster::Cluster;
use dbsage_supabase::{import_history, record_tool_history, AdoptError, AppliedFile, Layout};

fn client() -> (Cluster, postgres::Client) {
    let cluster = Cluster::start().unwrap();
    let client = cluster.connect("postgres").unwrap();
    (cluster, client)
}

#[test]
fn no_history_table_means_nothing_applied() {
    let (_cluster, mut client) = client();
    for layout in [
        Layout::Prisma,
        Layout::Diesel,
        Layout::GolangMigrate,
        Layout::Drizzle,
    ] {
        assert!(
            import_history(&mut client, layout).unwrap().is_empty(),
            "{layout}"
        );
    }
}

#[test]
fn prisma_counts_finished_migrations_that_were_not_rolled_back() {
    let (_cluster, mut client) = client();
    let file = AppliedFile {
        version: "20240110083000",
        name: "init",
        text: "CREATE TABLE \"User\" (id SERIAL PRIMARY KEY);\n",
    };
    let mut tx = client.transaction().unwrap();
    record_tool_history(&mut tx, Layout::Prisma, file).unwrap();
    tx.commit().unwrap();
    client
        .batch_execute(
            "insert into _prisma_migrations (id, checksum, migration_name, started_at)
             values ('a', 'x', '20240111000000_failed', now()),
                    ('b', 'y', '20240112000000_undone', now());
             update _prisma_migrations set finished_at = now(), rolled_back_at = now() where id = 'b';",
        )
        .unwrap();
    let imported = import_history(&mut client, Layout::Prisma).unwrap();
    assert_eq!(imported.len(), 1);
    assert_eq!(imported[0].version, "20240110083000");
    assert_eq!(imported[0].name.as_deref(), Some("init"));
    // sha256 of the script, as `prisma migrate` computes it.
    let expected: String = client
        .query_one(
            "select encode(sha256(convert_to($1, 'UTF8')), 'hex')",
            &[&file.text],
        )
        .unwrap()
        .get(0);
    assert_eq!(imported[0].checksum.as_deref(), Some(expected.as_str()));
}

#[test]
fn diesel_rows_are_versions() {
    let (_cluster, mut client) = client();
    for version in ["00000000000000", "20240201101500"] {
        let mut tx = client.transaction().unwrap();
        let file = AppliedFile {
            version,
            name: "x",
            text: "",
        };
        record_tool_history(&mut tx, Layout::Diesel, file).unwrap();
        tx.commit().unwrap();
    }
    let imported = import_history(&mut client, Layout::Diesel).unwrap();
    let versions: Vec<&str> = imported.iter().map(|v| v.version.as_str()).collect();
    assert_eq!(versions, ["00000000000000", "20240201101500"]);
}

#[test]
fn golang_migrate_keeps_one_row_with_the_newest_version() {
    let (_cluster, mut client) = client();
    for version in ["000002", "000005", "000003"] {
        let mut tx = client.transaction().unwrap();
        let file = AppliedFile {
            version,
            name: "x",
            text: "",
        };
        record_tool_history(&mut tx, Layout::GolangMigrate, file).unwrap();
        tx.commit().unwrap();
    }
    let rows: Vec<(i64, bool)> = client
        .query("select version, dirty from schema_migrations", &[])
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    assert_eq!(
        rows,
        [(5, false)],
        "an older version applied out of order does not move it back"
    );
    let imported = import_history(&mut client, Layout::GolangMigrate).unwrap();
    assert_eq!(imported.len(), 1);
    assert_eq!(imported[0].version, "5");
    assert!(
        imported[0].baseline,
        "every version up to it counts as applied"
    );
}

#[test]
fn golang_migrate_dirty_flag_is_refused() {
    let (_cluster, mut client) = client();
    client
        .batch_execute(
            "create table schema_migrations (version bigint not null primary key, dirty boolean not null);
             insert into schema_migrations values (7, true);",
        )
        .unwrap();
    let err = import_history(&mut client, Layout::GolangMigrate).unwrap_err();
    assert!(
        matches!(err, AdoptError::Dirty { ref version } if version == "7"),
        "{err}"
    );
    assert!(err.to_string().contains("migrate force 7"), "{err}");
}

#[test]
fn a_rolled_back_transaction_leaves_no_row() {
    let (_cluster, mut client) = client();
    let mut tx = client.transaction().unwrap();
    let file = AppliedFile {
        version: "20240201101500",
        name: "create_books",
        text: "",
    };
    record_tool_history(&mut tx, Layout::Diesel, file).unwrap();
    drop(tx);
    assert!(import_history(&mut client, Layout::Diesel)
        .unwrap()
        .is_empty());
}

#[test]
fn drizzle_newest_created_at_is_a_baseline_and_rows_carry_the_file_hash() {
    let (_cluster, mut client) = client();
    let text = "CREATE TABLE \"teams\" (\"id\" serial PRIMARY KEY NOT NULL);\n";
    for version in ["1714470000000", "1715079600000"] {
        let mut tx = client.transaction().unwrap();
        let file = AppliedFile {
            version,
            name: "x",
            text,
        };
        record_tool_history(&mut tx, Layout::Drizzle, file).unwrap();
        tx.commit().unwrap();
    }
    let imported = import_history(&mut client, Layout::Drizzle).unwrap();
    assert_eq!(imported.len(), 1);
    assert_eq!(imported[0].version, "1715079600000");
    assert!(imported[0].baseline);
    let same_hash: bool = client
        .query_one(
            "select bool_and(hash = encode(sha256(convert_to($1, 'UTF8')), 'hex')) from drizzle.__drizzle_migrations",
            &[&text],
        )
        .unwrap()
        .get(0);
    assert!(same_hash);
}
