//! backup → manifest → verify on a throwaway cluster, against a second cluster over TCP.

use crate::common;

use std::sync::Mutex;

use common::{copy_backup, Shop};
use dbsage_backup::dump::Silent;
use dbsage_backup::{backup, verify, BackupOptions, Content, Manifest, Progress};

fn take(shop: &Shop) -> dbsage_backup::BackupReport {
    backup(
        &shop.project(),
        &shop.target(),
        &BackupOptions::default(),
        &Silent,
    )
    .unwrap()
}

#[test]
fn a_backup_has_a_sealed_manifest_with_exact_counts_and_verifies_by_restoring() {
    let shop = Shop::new();
    let report = take(&shop);
    let m = &report.manifest;
    assert_eq!(m.format_version, dbsage_backup::FORMAT_VERSION);
    assert_eq!(m.database, "shop");
    assert_eq!(m.content, "full");
    assert!(m.server_version.starts_with(&m.server_major.to_string()));
    assert!(m.is_sealed());
    let rows = |name: &str| {
        m.tables
            .iter()
            .find(|t| t.name == name)
            .unwrap_or_else(|| panic!("{name} in the manifest"))
            .rows
    };
    assert_eq!(rows("customers"), Some(300));
    assert_eq!(rows("order_lines"), Some(2700));
    assert_eq!(rows("audit_log"), Some(500));
    let notes = m.tables.iter().find(|t| t.name == "tenant_notes").unwrap();
    assert!(notes.rls_enabled && notes.policies == 2);
    assert!(m.tables.iter().all(|t| t.checksum.is_some()));
    // Every file is listed with its sha256; table data files name their table.
    let on_disk = dbsage_backup::files::hash_all(&report.dir).unwrap();
    assert_eq!(on_disk.len(), m.files.len());
    assert!(m
        .files
        .iter()
        .any(|f| f.table.as_deref() == Some("public.order_lines")));
    assert!(m.files.iter().any(|f| f.path == "roles.sql"));
    let roles = std::fs::read_to_string(report.dir.join("roles.sql")).unwrap();
    assert!(roles.contains("CREATE ROLE shop_app"));
    assert!(
        !roles.contains("SCRAM-SHA-256"),
        "role passwords left out by default"
    );

    let verified = verify(&report.dir, 2).unwrap();
    assert!(verified.ok, "{verified:#?}");
    let c = verified.comparison.as_ref().unwrap();
    assert_eq!(c.tables, 6);
    assert_eq!(c.rows, 300 + 120 + 900 + 2700 + 200 + 500);
    assert_eq!(c.checksums, 6);
    assert_eq!(c.foreign_keys, 3);
    assert!(c.indexes >= 7, "{c:?}");
    assert!(verified.restore_ms.is_some());
    assert!(verified
        .roles
        .as_ref()
        .unwrap()
        .created
        .contains(&"shop_app".to_string()));
}

/// Rows written after the snapshot is exported and before pg_dump starts: without
/// `pg_dump --snapshot` the dump would hold them and the manifest would not.
struct WriteDuringBackup<'a>(&'a Shop, Mutex<bool>);

impl Progress for WriteDuringBackup<'_> {
    fn tables(&self, _total: usize) {
        let mut done = self.1.lock().unwrap();
        if !*done {
            self.0
                .client()
                .batch_execute("insert into audit_log (at, action) select now(), 'late' from generate_series(1, 25)")
                .unwrap();
            *done = true;
        }
    }
}

#[test]
fn counts_and_dump_come_from_the_same_snapshot() {
    let shop = Shop::new();
    let progress = WriteDuringBackup(&shop, Mutex::new(false));
    let report = backup(
        &shop.project(),
        &shop.target(),
        &BackupOptions::default(),
        &progress,
    )
    .unwrap();
    assert!(*progress.1.lock().unwrap());
    let audit = report
        .manifest
        .tables
        .iter()
        .find(|t| t.name == "audit_log")
        .unwrap();
    assert_eq!(audit.rows, Some(500));
    let live: i64 = shop
        .client()
        .query_one("select count(*) from audit_log", &[])
        .unwrap()
        .get(0);
    assert_eq!(live, 525);
    let verified = verify(&report.dir, 2).unwrap();
    assert!(verified.ok, "{verified:#?}");
}

#[test]
fn damaged_backups_fail_verification_naming_the_file_or_table() {
    let shop = Shop::new();
    let report = take(&shop);
    let m = &report.manifest;
    let data_file = m
        .files
        .iter()
        .find(|f| f.table.as_deref() == Some("public.orders"))
        .unwrap()
        .path
        .clone();
    let work = tempfile::tempdir().unwrap();
    let damaged = |name: &str, damage: &dyn Fn(&std::path::Path)| {
        let dir = work.path().join(name);
        copy_backup(&report.dir, &dir);
        damage(&dir);
        let r = verify(&dir, 2).unwrap();
        assert!(!r.ok, "{name}: {r:#?}");
        assert!(r.comparison.is_none(), "{name}: not restored");
        r.file_problems
            .iter()
            .map(|p| p.message.clone())
            .collect::<Vec<_>>()
            .join("\n")
    };

    let truncated = damaged("truncated", &|dir| {
        let path = dir.join(&data_file);
        let bytes = std::fs::read(&path).unwrap();
        std::fs::write(&path, &bytes[..bytes.len() / 2]).unwrap();
    });
    assert!(
        truncated.contains(&data_file) && truncated.contains("public.orders"),
        "{truncated}"
    );
    assert!(truncated.contains("truncated"), "{truncated}");

    let flipped = damaged("flipped", &|dir| {
        let path = dir.join(&data_file);
        let mut bytes = std::fs::read(&path).unwrap();
        let middle = bytes.len() / 2;
        bytes[middle] ^= 0x01;
        std::fs::write(&path, &bytes).unwrap();
    });
    assert!(
        flipped.contains("public.orders") && flipped.contains("sha256"),
        "{flipped}"
    );

    let missing = damaged("missing", &|dir| {
        std::fs::remove_file(dir.join(&data_file)).unwrap()
    });
    assert!(
        missing.contains("public.orders") && missing.contains("is missing"),
        "{missing}"
    );

    let edited = damaged("edited", &|dir| {
        let path = dir.join("manifest.json");
        let text = std::fs::read_to_string(&path).unwrap();
        let text = text.replacen("\"rows\": 900", "\"rows\": 901", 1);
        assert!(text.contains("901"));
        std::fs::write(&path, text).unwrap();
    });
    assert!(
        edited.contains("manifest.json") && edited.contains("edited by hand"),
        "{edited}"
    );
}

#[test]
fn schema_only_backups_restore_the_schema_without_rows() {
    let shop = Shop::new();
    let options = BackupOptions {
        content: Content::SchemaOnly,
        ..BackupOptions::default()
    };
    let report = backup(&shop.project(), &shop.target(), &options, &Silent).unwrap();
    assert_eq!(report.manifest.content, "schema-only");
    assert!(report.manifest.tables.iter().all(|t| t.rows.is_none()));
    assert!(!report.manifest.files.iter().any(|f| f.table.is_some()));
    let verified = verify(&report.dir, 1).unwrap();
    assert!(verified.ok, "{verified:#?}");
    assert_eq!(verified.comparison.unwrap().rows, 0);
}

#[test]
fn folders_that_are_not_backups_or_come_from_a_newer_dbsage_are_refused() {
    let shop = Shop::new();
    let stray = tempfile::tempdir().unwrap();
    std::fs::write(stray.path().join("notes.txt"), "hello").unwrap();
    let e = verify(stray.path(), 1).unwrap_err();
    assert!(e.to_string().contains("is not a dbsage backup"), "{e}");
    assert_eq!(e.exit_code(), 1);

    let report = take(&shop);
    let path = report.dir.join("manifest.json");
    let mut value: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    value["format_version"] = serde_json::json!(dbsage_backup::FORMAT_VERSION + 1);
    std::fs::write(&path, value.to_string()).unwrap();
    let e = Manifest::read(&report.dir).unwrap_err();
    assert!(e.to_string().contains("written by a newer dbsage"), "{e}");
    assert!(e.hint().unwrap().contains("upgrade dbsage"));
    assert_eq!(e.exit_code(), 2);
}
