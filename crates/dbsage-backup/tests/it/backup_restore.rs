//! `restore`: into a new database on the environment's server (verified), and `--replace`
//! after a fresh backup of the target.

use crate::common;

use common::Shop;
use dbsage_backup::dump::Silent;
use dbsage_backup::{backup, restore, BackupOptions, RestoreOptions};

#[test]
fn restore_into_a_new_database_keeps_existing_roles_and_verifies() {
    let shop = Shop::new();
    let taken = backup(
        &shop.project(),
        &shop.target(),
        &BackupOptions::default(),
        &Silent,
    )
    .unwrap();
    // A role that exists on the target keeps its own attributes.
    shop.client()
        .batch_execute("alter role shop_app connection limit 7")
        .unwrap();
    let report = restore(
        &shop.project(),
        &shop.target(),
        &taken.dir,
        &RestoreOptions {
            into: Some("shop_copy".into()),
            replace: false,
            jobs: 2,
        },
        &Silent,
    )
    .unwrap();
    assert!(report.ok, "{report:#?}");
    assert_eq!(report.database, "shop_copy");
    assert!(report.roles.kept.contains(&"shop_app".to_string()));
    assert_eq!(report.comparison.tables, 6);
    let limit: i32 = shop
        .client()
        .query_one(
            "select rolconnlimit from pg_roles where rolname = 'shop_app'",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(limit, 7);
    let copied: i64 = shop
        .cluster
        .connect("shop_copy")
        .unwrap()
        .query_one("select count(*) from order_lines", &[])
        .unwrap()
        .get(0);
    assert_eq!(copied, 2700);
    assert!(report.switch.iter().any(|l| l.contains("RENAME TO")));

    // The same name again is refused: restore never writes into an existing database.
    let e = restore(
        &shop.project(),
        &shop.target(),
        &taken.dir,
        &RestoreOptions {
            into: Some("shop_copy".into()),
            replace: false,
            jobs: 2,
        },
        &Silent,
    )
    .unwrap_err();
    assert!(e.to_string().contains("already exists"), "{e}");
}

#[test]
fn replace_backs_up_the_target_first_then_restores_over_it() {
    let shop = Shop::new();
    let taken = backup(
        &shop.project(),
        &shop.target(),
        &BackupOptions::default(),
        &Silent,
    )
    .unwrap();
    shop.client()
        .batch_execute("delete from order_lines where order_id > 100; drop table audit_log;")
        .unwrap();
    let report = restore(
        &shop.project(),
        &shop.target(),
        &taken.dir,
        &RestoreOptions {
            into: None,
            replace: true,
            jobs: 2,
        },
        &Silent,
    )
    .unwrap();
    assert!(report.ok, "{report:#?}");
    assert!(report.replaced);
    let safety = report.safety_backup.clone().unwrap();
    let mut client = shop.client();
    let lines: i64 = client
        .query_one("select count(*) from order_lines", &[])
        .unwrap()
        .get(0);
    assert_eq!(lines, 2700);
    let audit: i64 = client
        .query_one("select count(*) from audit_log", &[])
        .unwrap()
        .get(0);
    assert_eq!(audit, 500);
    // The safety backup holds the state before the replace.
    let safety_dir = shop.backups_dir().join(&safety);
    let manifest = dbsage_backup::Manifest::read(&safety_dir).unwrap();
    let before = manifest
        .tables
        .iter()
        .find(|t| t.name == "order_lines")
        .unwrap();
    assert_eq!(before.rows, Some(300));
    assert!(!manifest.tables.iter().any(|t| t.name == "audit_log"));
}
