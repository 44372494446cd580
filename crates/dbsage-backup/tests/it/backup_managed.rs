//! Managed platforms: a Supabase project's backup leaves out the schemas Supabase manages, and
//! a restore by a role that is not superuser (as on Supabase or RDS) lists the ownership errors
//! apart from real failures.

use crate::common;

use common::Shop;
use dbsage_backup::dump::Silent;
use dbsage_backup::{backup, restore, BackupOptions, RestoreOptions};

#[test]
fn supabase_projects_leave_out_the_managed_schemas_unless_asked() {
    let shop = Shop::with_config("[supabase]\nenabled = true\n");
    dbsage_supabase::install_compat(&mut shop.client()).unwrap();
    let report = backup(
        &shop.project(),
        &shop.target(),
        &BackupOptions::default(),
        &Silent,
    )
    .unwrap();
    let excluded = &report.manifest.excluded_schemas;
    for schema in ["auth", "extensions", "storage"] {
        assert!(excluded.contains(&schema.to_string()), "{excluded:?}");
    }
    assert!(!report.manifest.tables.iter().any(|t| t.schema == "auth"));
    assert!(report.manifest.tables.iter().any(|t| t.name == "orders"));

    let all = backup(
        &shop.project(),
        &shop.target(),
        &BackupOptions {
            include_managed: true,
            ..BackupOptions::default()
        },
        &Silent,
    )
    .unwrap();
    assert!(all.manifest.excluded_schemas.is_empty());
    assert!(all
        .manifest
        .tables
        .iter()
        .any(|t| t.schema == "auth" && t.name == "users"));
}

#[test]
fn a_restore_without_superuser_lists_ownership_errors_apart() {
    let shop = Shop::new();
    let taken = backup(
        &shop.project(),
        &shop.target(),
        &BackupOptions::default(),
        &Silent,
    )
    .unwrap();
    shop.client()
        .batch_execute("create role restorer login createdb password 'restore-pw-1'")
        .unwrap();
    let url = format!(
        "postgresql://restorer:restore-pw-1@127.0.0.1:{}/shop",
        shop.cluster.port()
    );
    std::fs::write(
        shop.dir.path().join("dbsage.toml"),
        format!("[environments.prod]\nurl = \"{url}\"\n"),
    )
    .unwrap();
    let report = restore(
        &shop.project(),
        &shop.target(),
        &taken.dir,
        &RestoreOptions {
            into: Some("shop_managed".into()),
            replace: false,
            jobs: 2,
        },
        &Silent,
    )
    .unwrap();
    assert!(!report.expected_errors.is_empty(), "{report:#?}");
    assert!(
        report.expected_errors.iter().all(|e| e
            .command
            .as_deref()
            .unwrap_or("")
            .contains("OWNER TO")),
        "{report:#?}"
    );
    assert!(report.failures.is_empty(), "{report:#?}");
    assert!(report.ok, "{report:#?}");
    assert_eq!(report.comparison.rows, 4720);
    // amcheck needs a superuser to install: said, not failed.
    assert!(report.comparison.amcheck_note.is_some());
}
