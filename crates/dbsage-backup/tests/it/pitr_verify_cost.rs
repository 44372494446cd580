//! What `verify` still checks after its cost cuts: a foreign key added `NOT VALID` (never
//! checked by the server, even on restore) with orphan rows is reported; validated ones are
//! counted without a second scan; the time verify adds is reported beside the restore.

use crate::common;

use common::Shop;
use dbsage_backup::dump::Silent;
use dbsage_backup::{backup, verify, BackupOptions};

#[test]
fn orphans_behind_a_not_valid_foreign_key_are_found_and_the_phases_are_timed() {
    let shop = Shop::new();
    // A legacy table whose constraint was added NOT VALID over rows that break it.
    shop.client()
        .batch_execute(
            "create table returns (id int primary key, order_id bigint not null);
             insert into returns values (1, 1), (2, 999999), (3, 888888);
             alter table returns add constraint returns_order_fk foreign key (order_id) references orders (id) not valid;",
        )
        .unwrap();
    let report = backup(
        &shop.project(),
        &shop.target(),
        &BackupOptions::default(),
        &Silent,
    )
    .unwrap();
    let verified = verify(&report.dir, 2).unwrap();
    assert!(!verified.ok, "{verified:#?}");
    let c = verified.comparison.as_ref().unwrap();
    assert_eq!(
        c.foreign_keys, 4,
        "three validated ones and the NOT VALID one"
    );
    assert_eq!(c.problems.len(), 1, "{c:?}");
    assert_eq!(c.problems[0].kind, "foreign-key");
    assert!(
        c.problems[0].message.contains("returns_order_fk")
            && c.problems[0].message.contains("2 rows"),
        "{}",
        c.problems[0].message
    );
    assert!(
        verified.files_ms.is_some()
            && verified.compare_ms.is_some()
            && verified.restore_ms.is_some()
    );
}
