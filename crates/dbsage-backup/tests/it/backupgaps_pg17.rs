//! Backups of a PostgreSQL 17 server (the 17.10 build `dbsage pg install 17` fetches) while the
//! system's server and client programs are 15: dbsage takes pg_dump/pg_restore of 17 (pg_dump 15
//! refuses a 17 server), verifies on a throwaway 17 cluster (a 15 one cannot load a 17 dump),
//! and restores into a new database of the 17 server.

use crate::common;

use dbsage_backup::dump::Silent;
use dbsage_backup::{backup, restore, verify, BackupOptions, RestoreOptions};
use dbsage_cluster::{Cluster, ClusterOptions};
use dbsage_core::config::Project;
use dbsage_core::env::Target;

struct Shop17 {
    dir: tempfile::TempDir,
    cluster: Cluster,
}

impl Shop17 {
    fn new() -> Shop17 {
        let cluster = Cluster::start_with(&ClusterOptions {
            major: Some(17),
            ..ClusterOptions::default()
        })
        .expect("PostgreSQL 17 in dbsage's cache (`dbsage pg install 17`, done by ./x test)");
        cluster.create_database("shop").unwrap();
        let mut client = cluster.connect("shop").unwrap();
        client.batch_execute(common::SHOP_SQL).unwrap();
        // Something only 17 has: pg_dump 15 could not even read this catalog.
        client
            .batch_execute(
                "create table stock_moves (sku text not null references products (sku),
                                           moved_at timestamptz not null default now(),
                                           quantity int not null);
                 insert into stock_moves (sku, quantity) select sku, 3 from products;
                 create index stock_moves_sku on stock_moves (sku);
                 merge into stock_moves m using products p on m.sku = p.sku
                  when matched then update set quantity = m.quantity + 1
                  returning merge_action();",
            )
            .unwrap();
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("dbsage.toml"),
            format!("[environments.prod]\nurl = \"{}\"\n", cluster.url("shop")),
        )
        .unwrap();
        Shop17 { dir, cluster }
    }

    fn project(&self) -> Project {
        Project::load(self.dir.path()).unwrap()
    }

    fn target(&self) -> Target {
        Target::resolve(&self.project(), Some("prod")).unwrap()
    }
}

#[test]
fn a_postgres_17_server_is_backed_up_with_17s_tools_verified_on_17_and_restored() {
    let shop = Shop17::new();
    assert_eq!(shop.cluster.install().major, 17);
    let taken = backup(
        &shop.project(),
        &shop.target(),
        &BackupOptions::default(),
        &Silent,
    )
    .expect("pg_dump of 17 is found (./x test installs it under the cache's clients/)");
    let m = &taken.manifest;
    assert_eq!(m.server_major, 17, "{m:?}");
    assert_eq!(
        m.pg_dump_major, 17,
        "pg_dump 15 refuses a 17 server: 17's is taken"
    );
    let moves = m
        .tables
        .iter()
        .find(|t| t.name == "stock_moves")
        .expect("stock_moves in the manifest");
    assert_eq!(moves.rows, Some(120));

    // The system's server is 15: the throwaway cluster verify restores on must be 17.
    let verified = verify(&taken.dir, 2).unwrap();
    assert!(verified.ok, "{verified:#?}");
    assert!(
        verified
            .restored_on
            .as_deref()
            .is_some_and(|r| r.starts_with("PostgreSQL 17.")),
        "{:?}",
        verified.restored_on
    );
    let c = verified.comparison.as_ref().unwrap();
    assert_eq!(c.tables, 7, "{c:?}");
    assert!(c.checksums >= 6, "{c:?}");
    assert!(c.indexes >= 5, "amcheck ran on 17: {c:?}");

    let restored = restore(
        &shop.project(),
        &shop.target(),
        &taken.dir,
        &RestoreOptions {
            into: Some("shop_on_17".into()),
            replace: false,
            jobs: 2,
        },
        &Silent,
    )
    .unwrap();
    assert!(restored.ok, "{restored:#?}");
    let mut copy = shop.cluster.connect("shop_on_17").unwrap();
    let total: i64 = copy
        .query_one("select sum(quantity) from stock_moves", &[])
        .unwrap()
        .get(0);
    assert_eq!(total, 480, "120 products, 3 + 1 each");
}

#[test]
fn the_tools_for_a_17_server_are_17s_and_a_missing_major_names_what_to_install() {
    let tools = dbsage_backup::tools::find(17, &["pg_dump", "pg_dumpall", "pg_restore"]).unwrap();
    assert_eq!(tools.major, 17, "{tools:?}");
    // A 15 server still gets the closest: 15's own.
    let tools = dbsage_backup::tools::find(15, &["pg_dump"]).unwrap();
    assert_eq!(tools.major, 15, "{tools:?}");
    let e = dbsage_backup::tools::find(18, &["pg_dump"]).unwrap_err();
    let text = e.to_string();
    assert!(
        text.contains("pg_dump of PostgreSQL 18 or newer is needed"),
        "{text}"
    );
    assert!(
        text.contains("pg_dump 15.") && text.contains("pg_dump 17."),
        "lists what it found: {text}"
    );
    let hint = e.hint().unwrap();
    assert!(
        hint.contains("postgresql-client-18") && hint.contains("clients"),
        "{hint}"
    );
}
