//! The idempotency check's advice for each kind of re-run failure (issue 9): decided from the
//! failing statement's parse tree and SQLSTATE, on a real replay.

use std::path::Path;

use dbsage_core::config::Project;
use dbsage_core::local::{self, CheckFinding, LocalOptions};
use dbsage_core::migrations::discover_project;

fn project_with(migrations: &[(&str, &str)]) -> (tempfile::TempDir, Project) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("dbsage.toml"),
        "[checks]\nidempotency = \"error\"\nrollback = \"off\"\n",
    )
    .unwrap();
    std::fs::create_dir(dir.path().join("migrations")).unwrap();
    for (name, sql) in migrations {
        std::fs::write(dir.path().join("migrations").join(name), sql).unwrap();
    }
    let project = Project::load(dir.path()).unwrap();
    (dir, project)
}

fn finding_of<'a>(findings: &'a [CheckFinding], version: &str) -> &'a CheckFinding {
    findings
        .iter()
        .find(|f| f.version == version)
        .unwrap_or_else(|| panic!("no idempotency finding for {version}: {findings:#?}"))
}

#[test]
fn each_rerun_failure_gets_the_fix_for_its_kind() {
    let (_dir, project) = project_with(&[
        (
            "20260301090000_catalog.sql",
            "create table if not exists plans (id bigint generated always as identity primary key, slug text not null unique);\n\
             create table if not exists coupons (code text primary key, legacy_discount int);\n\
             create table if not exists import_scratch (line text);\n\
             create table if not exists invoices (id bigint primary key, memo text);\n",
        ),
        (
            "20260301090100_seed_plans.sql",
            "insert into plans (slug) values ('free'), ('pro');\n",
        ),
        (
            "20260301090200_drop_scratch.sql",
            "-- dbsage:destructive the import finished in February\ndrop table import_scratch;\n",
        ),
        (
            "20260301090300_rename_memo.sql",
            "alter table invoices rename column memo to customer_note;\n",
        ),
        (
            "20260301090400_drop_legacy_discount.sql",
            "-- dbsage:destructive replaced by percent_off in January\nalter table coupons drop column legacy_discount;\n",
        ),
        (
            "20260301090500_index_invoices.sql",
            "create index invoices_customer_note_idx on invoices (customer_note);\n",
        ),
    ]);
    let files = discover_project(&project).unwrap();
    let report = local::run_local(&project, &files, &LocalOptions::default(), &mut |_| {}).unwrap();
    assert!(!report.passed);
    let findings = &report.checks["idempotency"].findings;
    assert_eq!(findings.len(), 5, "{findings:#?}");

    let insert = finding_of(findings, "20260301090100");
    assert_eq!(insert.sqlstate.as_deref(), Some("23505"));
    assert!(
        insert
            .message
            .contains("use ON CONFLICT DO NOTHING (or ON CONFLICT … DO UPDATE"),
        "{}",
        insert.message
    );
    assert!(
        !insert.message.contains("clean the duplicates"),
        "{}",
        insert.message
    );

    let drop = finding_of(findings, "20260301090200");
    assert_eq!(drop.sqlstate.as_deref(), Some("42P01"));
    assert!(drop.message.contains("add IF EXISTS"), "{}", drop.message);
    assert!(
        !drop.message.contains("migrations' order"),
        "{}",
        drop.message
    );

    let rename = finding_of(findings, "20260301090300");
    assert_eq!(rename.sqlstate.as_deref(), Some("42703"));
    assert!(
        rename.message.contains(
            "guard it with a catalog check (a DO block testing information_schema/pg_catalog"
        ),
        "{}",
        rename.message
    );

    let column = finding_of(findings, "20260301090400");
    assert_eq!(column.sqlstate.as_deref(), Some("42703"));
    assert!(
        column.message.contains("use DROP COLUMN IF EXISTS"),
        "{}",
        column.message
    );

    let index = finding_of(findings, "20260301090500");
    assert_eq!(index.sqlstate.as_deref(), Some("42P07"));
    assert!(
        index.message.contains("CREATE … IF NOT EXISTS"),
        "{}",
        index.message
    );
    // Located at the failing statement.
    assert_eq!(
        Path::new(column.file.as_deref().unwrap())
            .file_name()
            .unwrap(),
        "20260301090400_drop_legacy_discount.sql"
    );
    assert_eq!(column.line, Some(2));
}
