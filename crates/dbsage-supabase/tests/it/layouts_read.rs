//! Prisma, diesel and golang-migrate projects recognised and read in place, and the files each
//! tool skips reported instead of refused.

use std::fs;
use std::path::Path;

use dbsage_supabase::{detect, read_layout, read_migrations, AdoptError, Layout};

fn write(root: &Path, rel: &str, text: &str) {
    let path = root.join(rel);
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, text).unwrap();
}

fn fixture(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures/layouts")
        .join(name)
}

#[test]
fn supabase_names_follow_the_cli_pattern_and_skipped_files_are_listed() {
    let root = fixture("supabase");
    let found = detect(&root).unwrap();
    let files = read_layout(found.layout, &found.migrations_dir).unwrap();
    let names: Vec<(&str, &str)> = files
        .migrations
        .iter()
        .map(|m| (m.version.as_str(), m.name.as_str()))
        .collect();
    assert_eq!(
        names,
        [
            ("20231207111703", "langchain@embedding_search-1.1.1"),
            ("20240105093000", "recipes")
        ]
    );
    assert_eq!(
        files.ignored,
        [found.migrations_dir.join("create_scratch_table.sql")]
    );
}

#[test]
fn prisma_folders_in_name_order() {
    let root = fixture("prisma");
    let found = detect(&root).unwrap();
    assert_eq!(found.layout, Layout::Prisma);
    assert_eq!(found.migrations_dir, root.join("prisma/migrations"));
    assert_eq!(found.history_table, "_prisma_migrations");
    let files = read_layout(Layout::Prisma, &found.migrations_dir).unwrap();
    let listed: Vec<(&str, &str)> = files
        .migrations
        .iter()
        .map(|m| (m.version.as_str(), m.name.as_str()))
        .collect();
    assert_eq!(
        listed,
        [
            ("20240110083000", "init"),
            ("20240112140000", "add_posts"),
            ("20240115091500", "posts_author_index")
        ]
    );
    assert_eq!(
        files.migrations[0].path,
        found
            .migrations_dir
            .join("20240110083000_init/migration.sql")
    );
    assert!(files.migrations.iter().all(|m| m.down_sql.is_none()));
    assert!(
        files.ignored.is_empty(),
        "migration_lock.toml is not a migration"
    );
}

#[test]
fn prisma_folder_without_its_script_is_an_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "prisma/migrations/20240101000000_init/migration.sql",
        "select 1;",
    );
    fs::create_dir_all(dir.path().join("prisma/migrations/20240102000000_half")).unwrap();
    let err = read_migrations(Layout::Prisma, &dir.path().join("prisma/migrations")).unwrap_err();
    assert!(matches!(err, AdoptError::Unsupported { .. }), "{err}");
    assert!(err.to_string().contains("20240102000000_half"), "{err}");
    assert!(err.to_string().contains("no migration.sql"), "{err}");
}

#[test]
fn diesel_versions_drop_the_dashes_and_down_sql_is_the_down_file() {
    let root = fixture("diesel");
    let found = detect(&root).unwrap();
    assert_eq!(found.layout, Layout::Diesel);
    assert_eq!(found.history_table, "__diesel_schema_migrations");
    let migrations = read_migrations(Layout::Diesel, &found.migrations_dir).unwrap();
    let listed: Vec<(&str, &str)> = migrations
        .iter()
        .map(|m| (m.version.as_str(), m.name.as_str()))
        .collect();
    assert_eq!(
        listed,
        [
            ("00000000000000", "diesel_initial_setup"),
            ("20240201101500", "create_books"),
            ("20240203120000", "add_isbn")
        ]
    );
    assert_eq!(
        migrations[1].down_path,
        Some(
            found
                .migrations_dir
                .join("2024-02-01-101500_create_books/down.sql")
        )
    );
    assert_eq!(
        migrations[1].down_sql.as_deref(),
        Some("DROP TABLE books;\n")
    );
    assert!(migrations.iter().all(|m| !m.no_transaction));
}

#[test]
fn diesel_metadata_can_run_a_migration_outside_a_transaction() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "migrations/2024-03-01-000000_index/up.sql",
        "CREATE INDEX CONCURRENTLY books_title_idx ON books (title);",
    );
    write(
        dir.path(),
        "migrations/2024-03-01-000000_index/metadata.toml",
        "run_in_transaction = false\n",
    );
    let migrations = read_migrations(Layout::Diesel, &dir.path().join("migrations")).unwrap();
    assert!(migrations[0].no_transaction);
}

#[test]
fn golang_migrate_pairs_up_and_down_files_in_a_go_module() {
    let root = fixture("golang-migrate");
    let found = detect(&root).unwrap();
    assert_eq!(found.layout, Layout::GolangMigrate);
    assert_eq!(found.migrations_dir, root.join("db/migrations"));
    let migrations = read_migrations(Layout::GolangMigrate, &found.migrations_dir).unwrap();
    let versions: Vec<&str> = migrations.iter().map(|m| m.version.as_str()).collect();
    assert_eq!(versions, ["000001", "000002", "000003"]);
    assert!(migrations.iter().all(|m| m.down_sql.is_some()));
    assert_eq!(migrations[2].name, "add_currency");
}

#[test]
fn up_and_down_files_without_a_go_module_stay_sqlx() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "Cargo.toml", "[package]\nname = \"app\"\n");
    write(
        dir.path(),
        "migrations/1_users.up.sql",
        "create table users (id int);",
    );
    write(
        dir.path(),
        "migrations/1_users.down.sql",
        "drop table users;",
    );
    assert_eq!(detect(dir.path()).unwrap().layout, Layout::Sqlx);
    write(dir.path(), "go.mod", "module example.com/app\n");
    assert_eq!(detect(dir.path()).unwrap().layout, Layout::GolangMigrate);
}

#[test]
fn golang_migrate_skips_names_it_does_not_know() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "m/1_a.up.sql", "select 1;");
    write(dir.path(), "m/notes.sql", "select 2;");
    let files = read_layout(Layout::GolangMigrate, &dir.path().join("m")).unwrap();
    assert_eq!(files.migrations.len(), 1);
    assert_eq!(files.ignored, [dir.path().join("m/notes.sql")]);
}

#[test]
fn layout_names_round_trip_through_the_config() {
    for layout in Layout::ALL {
        assert_eq!(Layout::from_config_name(layout.config_name()), Some(layout));
    }
    assert_eq!(Layout::from_config_name("liquibase"), None);
}

#[test]
fn drizzle_reads_the_journal_in_order_and_skips_unlisted_files() {
    let root = fixture("drizzle");
    let found = detect(&root).unwrap();
    assert_eq!(found.layout, Layout::Drizzle);
    assert_eq!(found.migrations_dir, root.join("drizzle"));
    assert_eq!(found.history_table, "drizzle.__drizzle_migrations");
    let files = read_layout(Layout::Drizzle, &found.migrations_dir).unwrap();
    let listed: Vec<(&str, &str)> = files
        .migrations
        .iter()
        .map(|m| (m.version.as_str(), m.name.as_str()))
        .collect();
    assert_eq!(
        listed,
        [
            ("1714470000000", "0000_brave_sentinel"),
            ("1715079600000", "0001_quiet_lockheed"),
            ("1716289200000", "0002_tidy_invitations")
        ]
    );
    assert_eq!(
        files.ignored,
        [found.migrations_dir.join("scratch_backfill.sql")]
    );
}

#[test]
fn drizzle_journal_entry_without_its_file_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "drizzle/meta/_journal.json",
        r#"{"version":"7","dialect":"postgresql","entries":[{"idx":0,"version":"7","when":1714470000000,"tag":"0000_gone","breakpoints":true}]}"#,
    );
    let err = read_migrations(Layout::Drizzle, &dir.path().join("drizzle")).unwrap_err();
    assert!(err.to_string().contains("0000_gone"), "{err}");
}
