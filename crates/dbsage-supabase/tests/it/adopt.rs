//! Each layout recognised from a fixture directory and read without renaming anything.

use std::fs;
use std::path::Path;

use dbsage_supabase::{detect, read_migrations, AdoptError, Layout};

fn write(root: &Path, rel: &str, text: &str) {
    let path = root.join(rel);
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, text).unwrap();
}

#[test]
fn supabase_layout_with_seed() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(root, "supabase/config.toml", "project_id = \"demo\"\n");
    write(
        root,
        "supabase/migrations/20240102000000_second.sql",
        "select 2;",
    );
    write(
        root,
        "supabase/migrations/20240101000000_first.sql",
        "select 1;",
    );
    write(root, "supabase/migrations/README.md", "not a migration");
    write(root, "supabase/seed.sql", "insert into x values (1);");
    // A sqlx-looking folder beside it must not win: the supabase/ folder is unambiguous.
    write(root, "migrations/1_other.sql", "select 0;");

    let found = detect(root).unwrap();
    assert_eq!(found.layout, Layout::Supabase);
    assert_eq!(found.migrations_dir, root.join("supabase/migrations"));
    assert_eq!(found.seed, Some(root.join("supabase/seed.sql")));
    assert_eq!(found.history_table, "supabase_migrations.schema_migrations");

    let migrations = read_migrations(found.layout, &found.migrations_dir).unwrap();
    let listed: Vec<_> = migrations
        .iter()
        .map(|m| (m.version.as_str(), m.name.as_str(), m.up_sql.as_str()))
        .collect();
    assert_eq!(
        listed,
        [
            ("20240101000000", "first", "select 1;"),
            ("20240102000000", "second", "select 2;")
        ]
    );
    assert!(migrations.iter().all(|m| m.down_sql.is_none()));
}

#[test]
fn supabase_seed_path_from_config() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(
        root,
        "supabase/config.toml",
        "[db.seed]\nenabled = true\nsql_paths = ['./seeds/*.sql', './seeds/base.sql']\n",
    );
    write(root, "supabase/seeds/base.sql", "select 1;");
    write(root, "supabase/seed.sql", "select 2;");
    let found = detect(root).unwrap();
    assert_eq!(found.seed, Some(root.join("supabase/seeds/base.sql")));
}

#[test]
fn fresh_supabase_project_without_migrations_or_seed() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "supabase/config.toml", "");
    let found = detect(dir.path()).unwrap();
    assert_eq!(found.layout, Layout::Supabase);
    assert_eq!(found.seed, None);
    assert!(read_migrations(found.layout, &found.migrations_dir)
        .unwrap()
        .is_empty());
}

#[test]
fn sqlx_reversible_pairs_and_simple_files_sorted_numerically() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(
        root,
        "migrations/2_users.up.sql",
        "create table users (id int);",
    );
    write(root, "migrations/2_users.down.sql", "drop table users;");
    write(
        root,
        "migrations/10_index.sql",
        "-- no-transaction\ncreate index concurrently i on users (id);",
    );
    write(root, "migrations/1_init.sql", "select 1;");

    let found = detect(root).unwrap();
    assert_eq!(found.layout, Layout::Sqlx);
    assert_eq!(found.history_table, "_sqlx_migrations");
    let migrations = read_migrations(Layout::Sqlx, &found.migrations_dir).unwrap();
    let versions: Vec<_> = migrations.iter().map(|m| m.version.as_str()).collect();
    assert_eq!(versions, ["1", "2", "10"]);
    let users = &migrations[1];
    assert_eq!(users.name, "users");
    assert_eq!(users.path, root.join("migrations/2_users.up.sql"));
    assert_eq!(users.down_sql.as_deref(), Some("drop table users;"));
    assert_eq!(
        users.down_path,
        Some(root.join("migrations/2_users.down.sql"))
    );
    assert!(migrations[2].no_transaction);
    assert!(!migrations[0].no_transaction);
}

#[test]
fn sqlx_down_without_up_is_an_error_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "migrations/3_gone.down.sql", "select 1;");
    let err = read_migrations(Layout::Sqlx, &dir.path().join("migrations")).unwrap_err();
    assert!(matches!(err, AdoptError::OrphanDown { .. }), "{err}");
    assert!(err.to_string().contains("3_gone.down.sql"), "{err}");
}

#[test]
fn dbmate_sections_become_up_and_down() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(
        root,
        "db/migrations/20240101000000_create_users.sql",
        "-- migrate:up\ncreate table users (id int);\n\n-- migrate:down\ndrop table users;\n",
    );
    write(
        root,
        "db/migrations/20240102000000_index.sql",
        "-- migrate:up transaction:false\ncreate index concurrently i on users (id);\n\n-- migrate:down\n",
    );
    let found = detect(root).unwrap();
    assert_eq!(found.layout, Layout::Dbmate);
    assert_eq!(found.migrations_dir, root.join("db/migrations"));
    assert_eq!(found.history_table, "schema_migrations");
    let migrations = read_migrations(Layout::Dbmate, &found.migrations_dir).unwrap();
    assert_eq!(migrations.len(), 2);
    assert_eq!(migrations[0].name, "create_users");
    assert_eq!(migrations[0].up_sql, "create table users (id int);\n\n");
    assert_eq!(
        migrations[0].down_sql.as_deref(),
        Some("drop table users;\n")
    );
    assert_eq!(migrations[0].down_path.as_ref(), Some(&migrations[0].path));
    assert!(!migrations[0].no_transaction);
    assert!(migrations[1].no_transaction);
    assert_eq!(
        migrations[1].down_sql, None,
        "an empty down section is no down"
    );
}

#[test]
fn dbmate_file_without_up_section_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "db/migrations/1_x.sql",
        "create table x (id int);",
    );
    let err = read_migrations(Layout::Dbmate, &dir.path().join("db/migrations")).unwrap_err();
    assert!(matches!(err, AdoptError::MissingUpSection { .. }), "{err}");
}

#[test]
fn dbmate_markers_in_migrations_dir_are_not_mistaken_for_sqlx() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "migrations/1_x.sql",
        "-- migrate:up\nselect 1;\n-- migrate:down\n",
    );
    assert_eq!(detect(dir.path()).unwrap().layout, Layout::Dbmate);
}

#[test]
fn flyway_versions_names_undo_and_locations() {
    for location in ["src/main/resources/db/migration", "sql", "migrations"] {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        write(
            root,
            &format!("{location}/V1__init.sql"),
            "create table a (id int);",
        );
        write(
            root,
            &format!("{location}/V1_1__add_b.sql"),
            "create table b (id int);",
        );
        write(
            root,
            &format!("{location}/more/V2__add_c.sql"),
            "create table c (id int);",
        );
        write(
            root,
            &format!("{location}/V10__add_d.sql"),
            "create table d (id int);",
        );
        write(root, &format!("{location}/U2__add_c.sql"), "drop table c;");

        let found = detect(root).unwrap();
        assert_eq!(found.layout, Layout::Flyway, "{location}");
        assert_eq!(found.migrations_dir, root.join(location));
        assert_eq!(found.history_table, "flyway_schema_history");
        let migrations = read_migrations(Layout::Flyway, &found.migrations_dir).unwrap();
        let listed: Vec<_> = migrations
            .iter()
            .map(|m| (m.version.as_str(), m.name.as_str()))
            .collect();
        assert_eq!(
            listed,
            [
                ("1", "init"),
                ("1.1", "add_b"),
                ("2", "add_c"),
                ("10", "add_d")
            ]
        );
        assert_eq!(migrations[2].down_sql.as_deref(), Some("drop table c;"));
        assert_eq!(
            migrations[2].path,
            root.join(location).join("more/V2__add_c.sql")
        );
    }
}

#[test]
fn flyway_repeatable_migrations_are_refused_not_dropped() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "sql/V1__init.sql", "select 1;");
    write(
        dir.path(),
        "sql/R__views.sql",
        "create or replace view v as select 1;",
    );
    let err = read_migrations(Layout::Flyway, &dir.path().join("sql")).unwrap_err();
    assert!(matches!(err, AdoptError::Unsupported { .. }), "{err}");
    assert!(err.to_string().contains("R__views.sql"), "{err}");
}

#[test]
fn duplicate_versions_are_an_error() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "sql/V1__a.sql", "select 1;");
    write(dir.path(), "sql/V1.0__b.sql", "select 1;");
    let err = read_migrations(Layout::Flyway, &dir.path().join("sql")).unwrap_err();
    assert!(matches!(err, AdoptError::DuplicateVersion { .. }), "{err}");
}

#[test]
fn nothing_recognisable_is_none() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "src/main.rs", "fn main() {}");
    write(dir.path(), "migrations/notes.sql", "select 1;");
    assert_eq!(detect(dir.path()), None);
}
