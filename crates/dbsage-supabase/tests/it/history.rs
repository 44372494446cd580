//! History import from each tool's real table shape, and the Supabase CLI's table kept in step.

use dbsage_cluster::Cluster;
use dbsage_supabase::{
    import_history, match_history, record_supabase_history, AdoptedMigration, ImportedVersion,
    Layout,
};

fn client() -> (Cluster, postgres::Client) {
    let cluster = Cluster::start().unwrap();
    let client = cluster.connect("postgres").unwrap();
    (cluster, client)
}

fn versions(imported: &[ImportedVersion]) -> Vec<&str> {
    imported.iter().map(|v| v.version.as_str()).collect()
}

#[test]
fn no_history_table_means_nothing_applied() {
    let (_cluster, mut client) = client();
    for layout in [
        Layout::Supabase,
        Layout::Sqlx,
        Layout::Dbmate,
        Layout::Flyway,
    ] {
        assert!(
            import_history(&mut client, layout).unwrap().is_empty(),
            "{layout}"
        );
    }
}

#[test]
fn imports_supabase_history() {
    let (_cluster, mut client) = client();
    // The Supabase CLI's DDL, as it evolved: version first, then statements and name added.
    client
        .batch_execute(
            "create schema supabase_migrations;
             create table supabase_migrations.schema_migrations (version text not null primary key);
             alter table supabase_migrations.schema_migrations add column statements text[];
             alter table supabase_migrations.schema_migrations add column name text;
             insert into supabase_migrations.schema_migrations values
               ('20240102000000', '{\"create table b (id int)\"}', 'second'),
               ('20240101000000', '{\"create table a (id int)\"}', 'first'),
               ('20231231000000', null, null);",
        )
        .unwrap();
    let imported = import_history(&mut client, Layout::Supabase).unwrap();
    assert_eq!(
        versions(&imported),
        ["20231231000000", "20240101000000", "20240102000000"]
    );
    assert_eq!(imported[0].name, None);
    assert_eq!(imported[1].name.as_deref(), Some("first"));
    assert!(imported.iter().all(|v| v.checksum.is_none() && !v.baseline));
}

#[test]
fn imports_sqlx_history_with_checksums_skipping_failures() {
    let (_cluster, mut client) = client();
    // sqlx's own CREATE TABLE.
    client
        .batch_execute(
            "CREATE TABLE IF NOT EXISTS _sqlx_migrations (
                version BIGINT PRIMARY KEY,
                description TEXT NOT NULL,
                installed_on TIMESTAMPTZ NOT NULL DEFAULT now(),
                success BOOLEAN NOT NULL,
                checksum BYTEA NOT NULL,
                execution_time BIGINT NOT NULL
             );
             INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) VALUES
               (10, 'index', true, sha384('b'), 3),
               (2, 'users', true, sha384('a'), 5),
               (11, 'broken', false, sha384('c'), 1);",
        )
        .unwrap();
    let imported = import_history(&mut client, Layout::Sqlx).unwrap();
    assert_eq!(versions(&imported), ["2", "10"]);
    assert_eq!(imported[0].name.as_deref(), Some("users"));
    let checksum = imported[0].checksum.as_deref().unwrap();
    assert_eq!(checksum.len(), 96, "SHA-384 as hex");
}

#[test]
fn imports_dbmate_history() {
    let (_cluster, mut client) = client();
    client
        .batch_execute(
            "create table if not exists schema_migrations (version varchar(128) primary key);
             insert into schema_migrations (version) values ('20240102000000'), ('20240101000000');",
        )
        .unwrap();
    let imported = import_history(&mut client, Layout::Dbmate).unwrap();
    assert_eq!(versions(&imported), ["20240101000000", "20240102000000"]);
    assert!(imported
        .iter()
        .all(|v| v.name.is_none() && v.checksum.is_none()));
}

#[test]
fn imports_flyway_history_replaying_baseline_undo_and_failures() {
    let (_cluster, mut client) = client();
    // Flyway's own CREATE TABLE for PostgreSQL.
    client
        .batch_execute(
            r#"CREATE TABLE "public"."flyway_schema_history" (
                "installed_rank" INT NOT NULL,
                "version" VARCHAR(50),
                "description" VARCHAR(200) NOT NULL,
                "type" VARCHAR(20) NOT NULL,
                "script" VARCHAR(1000) NOT NULL,
                "checksum" INTEGER,
                "installed_by" VARCHAR(100) NOT NULL,
                "installed_on" TIMESTAMP NOT NULL DEFAULT now(),
                "execution_time" INTEGER NOT NULL,
                "success" BOOLEAN NOT NULL
             );
             ALTER TABLE "public"."flyway_schema_history"
               ADD CONSTRAINT "flyway_schema_history_pk" PRIMARY KEY ("installed_rank");
             INSERT INTO flyway_schema_history
               (installed_rank, version, description, type, script, checksum, installed_by, execution_time, success)
             VALUES
               (1, '0', '<< Flyway Schema Creation >>', 'SCHEMA', '"public"', null, 'me', 0, true),
               (2, '1', '<< Flyway Baseline >>', 'BASELINE', '<< Flyway Baseline >>', null, 'me', 0, true),
               (3, '1.1', 'add b', 'SQL', 'V1_1__add_b.sql', 12345, 'me', 3, true),
               (4, '2', 'add c', 'SQL', 'V2__add_c.sql', -42, 'me', 3, true),
               (5, '2', 'add c', 'UNDO_SQL', 'U2__add_c.sql', 7, 'me', 3, true),
               (6, '3', 'broken', 'SQL', 'V3__broken.sql', 8, 'me', 3, false),
               (7, null, 'views', 'SQL', 'R__views.sql', 9, 'me', 3, true),
               (8, '10', 'add d', 'SQL', 'V10__add_d.sql', 10, 'me', 3, true);"#,
        )
        .unwrap();
    let imported = import_history(&mut client, Layout::Flyway).unwrap();
    assert_eq!(versions(&imported), ["1", "1.1", "10"]);
    assert!(imported[0].baseline);
    assert_eq!(imported[1].name.as_deref(), Some("add b"));
    assert_eq!(imported[1].checksum.as_deref(), Some("12345"));

    // Matched against the files: the baseline covers V0_9 and V1, the undone V2 is pending again.
    let file = |version: &str| AdoptedMigration {
        version: version.into(),
        name: "x".into(),
        path: format!("V{version}__x.sql").into(),
        up_sql: String::new(),
        down_sql: None,
        down_path: None,
        no_transaction: false,
    };
    let files: Vec<_> = ["0.9", "1", "1.1", "2", "3"].map(file).to_vec();
    let matched = match_history(&files, &imported);
    assert_eq!(matched.applied, ["0.9", "1", "1.1"]);
    assert_eq!(matched.pending, ["2", "3"]);
    assert_eq!(versions(&matched.missing_on_disk), ["10"]);
}

#[test]
fn sqlx_history_matches_zero_padded_file_versions() {
    let imported = vec![ImportedVersion {
        version: "1".into(),
        name: Some("init".into()),
        checksum: None,
        baseline: false,
    }];
    let files = vec![AdoptedMigration {
        version: "0001".into(),
        name: "init".into(),
        path: "0001_init.sql".into(),
        up_sql: String::new(),
        down_sql: None,
        down_path: None,
        no_transaction: false,
    }];
    let matched = match_history(&files, &imported);
    assert_eq!(matched.applied, ["0001"]);
    assert!(matched.pending.is_empty() && matched.missing_on_disk.is_empty());
}

#[test]
fn record_supabase_history_creates_the_table_and_upserts() {
    let (_cluster, mut client) = client();
    let mut tx = client.transaction().unwrap();
    record_supabase_history(
        &mut tx,
        "20240101000000",
        "first",
        &["select 1".to_string()],
    )
    .unwrap();
    tx.commit().unwrap();
    // Again, as a plain client (GenericClient), with new content: one row, updated.
    record_supabase_history(
        &mut client,
        "20240101000000",
        "first_renamed",
        &["select 1".to_string(), "select 2".to_string()],
    )
    .unwrap();
    record_supabase_history(&mut client, "20240102000000", "second", &[]).unwrap();
    let rows: Vec<(String, Option<String>, Option<Vec<String>>)> = client
        .query(
            "select version, name, statements from supabase_migrations.schema_migrations order by version",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect();
    assert_eq!(
        rows,
        vec![
            (
                "20240101000000".into(),
                Some("first_renamed".into()),
                Some(vec!["select 1".into(), "select 2".into()])
            ),
            ("20240102000000".into(), Some("second".into()), Some(vec![])),
        ]
    );
    // And what was recorded is what the import reads back.
    let imported = import_history(&mut client, Layout::Supabase).unwrap();
    assert_eq!(versions(&imported), ["20240101000000", "20240102000000"]);
}

#[test]
fn record_supabase_history_rolls_back_with_the_migration() {
    let (_cluster, mut client) = client();
    let mut tx = client.transaction().unwrap();
    record_supabase_history(&mut tx, "20240101000000", "first", &[]).unwrap();
    tx.rollback().unwrap();
    assert!(import_history(&mut client, Layout::Supabase)
        .unwrap()
        .is_empty());
}
