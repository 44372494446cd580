//! What a backup refuses or cleans up: roles that cannot read everything, pg_dump dying
//! midway, retention only after success, a pg_dump older than the server.

use crate::common;

use common::Shop;
use dbsage_backup::dump::Silent;
use dbsage_backup::{backup, BackupOptions, Progress};

#[test]
fn a_role_that_rls_filters_is_refused_naming_the_tables() {
    let shop = Shop::new();
    shop.client()
        .batch_execute(
            "create role dumper login password 'dump-pw-1';
             grant select on all tables in schema public to dumper;
             grant select on all sequences in schema public to dumper;
             create table secrets (id int primary key, v text);",
        )
        .unwrap();
    let url = format!(
        "postgresql://dumper:dump-pw-1@127.0.0.1:{}/shop",
        shop.cluster.port()
    );
    std::fs::write(
        shop.dir.path().join("dbsage.toml"),
        format!("[environments.prod]\nurl = \"{url}\"\n"),
    )
    .unwrap();
    let e = backup(
        &shop.project(),
        &shop.target(),
        &BackupOptions::default(),
        &Silent,
    )
    .unwrap_err();
    let text = e.to_string();
    assert!(
        text.contains("row-level security hides rows of: public.tenant_notes"),
        "{text}"
    );
    assert!(
        text.contains("no SELECT privilege on: public.secrets"),
        "{text}"
    );
    assert!(
        e.hint().unwrap().contains("BYPASSRLS") && e.hint().unwrap().contains("pg_read_all_data")
    );
    assert!(
        !shop.backups_dir().exists() || std::fs::read_dir(shop.backups_dir()).unwrap().count() == 0
    );

    // With what the hint says, the same role backs up everything.
    shop.client()
        .batch_execute("alter role dumper bypassrls; grant pg_read_all_data to dumper;")
        .unwrap();
    let report = backup(
        &shop.project(),
        &shop.target(),
        &BackupOptions::default(),
        &Silent,
    )
    .unwrap();
    assert!(report.manifest.tables.iter().any(|t| t.name == "secrets"));
}

/// Kills pg_dump's sessions as soon as it starts dumping table data.
struct KillPgDump<'a>(&'a Shop);

impl Progress for KillPgDump<'_> {
    fn table_dumped(&self, _name: &str) {
        let _ = self.0.client().batch_execute(
            "select pg_terminate_backend(pid) from pg_stat_activity where application_name = 'pg_dump'",
        );
    }
}

#[test]
fn pg_dump_dying_midway_removes_the_unfinished_folder_and_says_so() {
    let shop = Shop::new();
    // Enough tables that pg_dump is still working when its sessions are killed.
    let mut client = shop.client();
    for i in 0..40 {
        client
            .batch_execute(&format!(
                "create table filler_{i} as select g as id, md5(g::text) as v from generate_series(1, 2000) g"
            ))
            .unwrap();
    }
    let e = backup(
        &shop.project(),
        &shop.target(),
        &BackupOptions::default(),
        &KillPgDump(&shop),
    )
    .unwrap_err();
    let text = e.to_string();
    assert!(text.contains("pg_dump failed"), "{text}");
    assert!(
        text.contains("unfinished backup folder") && text.contains("was removed"),
        "{text}"
    );
    let left: Vec<_> = std::fs::read_dir(shop.backups_dir()).unwrap().collect();
    assert!(left.is_empty(), "{left:?}");
}

#[test]
fn retention_keeps_the_newest_and_runs_only_after_a_successful_backup() {
    let shop = Shop::with_config("[backup]\nkeep_last = 2\n");
    let first = backup(
        &shop.project(),
        &shop.target(),
        &BackupOptions::default(),
        &Silent,
    )
    .unwrap();
    let second = backup(
        &shop.project(),
        &shop.target(),
        &BackupOptions::default(),
        &Silent,
    )
    .unwrap();
    assert!(first.removed.is_empty() && second.removed.is_empty());
    // A failing backup removes nothing.
    shop.cluster
        .connect("postgres")
        .unwrap()
        .batch_execute("alter database shop with allow_connections false")
        .unwrap();
    assert!(backup(
        &shop.project(),
        &shop.target(),
        &BackupOptions::default(),
        &Silent
    )
    .is_err());
    assert!(first.dir.exists());
    shop.cluster
        .connect("postgres")
        .unwrap()
        .batch_execute("alter database shop with allow_connections true")
        .unwrap();
    let third = backup(
        &shop.project(),
        &shop.target(),
        &BackupOptions::default(),
        &Silent,
    )
    .unwrap();
    assert_eq!(third.removed, vec![first.manifest.id.clone()]);
    assert!(!first.dir.exists() && second.dir.exists() && third.dir.exists());
    let listed = dbsage_backup::list(&shop.project(), Some("prod")).unwrap();
    let ids: Vec<&str> = listed.iter().map(|b| b.id.as_str()).collect();
    assert_eq!(
        ids,
        vec![third.manifest.id.as_str(), second.manifest.id.as_str()]
    );
}

#[test]
fn no_pg_dump_as_new_as_the_server_names_the_package() {
    let e = dbsage_backup::tools::find(99, &["pg_dump", "pg_dumpall", "pg_restore"]).unwrap_err();
    let text = e.to_string();
    assert!(text.contains("pg_dump of PostgreSQL 99 or newer"), "{text}");
    assert!(text.contains("found pg_dump 15"), "{text}");
    assert!(e.hint().unwrap().contains("postgresql-client-99"));
    assert_eq!(e.exit_code(), 2);
    // The installed one serves an older server.
    let tools = dbsage_backup::tools::find(13, &["pg_dump"]).unwrap();
    assert!(tools.major >= 13);
}

#[test]
fn a_backup_from_a_newer_major_is_not_restored_onto_an_older_server() {
    let shop = Shop::new();
    let report = backup(
        &shop.project(),
        &shop.target(),
        &BackupOptions::default(),
        &Silent,
    )
    .unwrap();
    // As if taken from a server one major newer than any installed (sealed as dbsage would).
    let mut manifest = report.manifest.clone();
    manifest.server_major = 99;
    manifest.server_version = "99.1".into();
    manifest.seal();
    std::fs::write(
        report.dir.join("manifest.json"),
        serde_json::to_string_pretty(&manifest).unwrap(),
    )
    .unwrap();
    let e = dbsage_backup::verify(&report.dir, 1).unwrap_err();
    assert!(e.to_string().contains("taken from PostgreSQL 99.1"), "{e}");
    assert!(e.to_string().contains("older major"), "{e}");
    assert_eq!(e.exit_code(), 2);
    let e = dbsage_backup::restore(
        &shop.project(),
        &shop.target(),
        &report.dir,
        &dbsage_backup::RestoreOptions {
            into: Some("x".into()),
            replace: false,
            jobs: 1,
        },
        &Silent,
    )
    .unwrap_err();
    assert!(e.to_string().contains("`prod` runs PostgreSQL"), "{e}");
}
