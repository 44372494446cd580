//! The missing-extension paragraph beyond the throwaway pre-check: a `CREATE EXTENSION` inside
//! a DO block (which the pre-check cannot see), the dev database, and any other target, from
//! the server's own error (0A000 "extension … is not available" since 15.x minors and 16;
//! older servers 58P01 "could not open extension control file").

use crate::common;

use std::path::{Path, PathBuf};

use common::{stderr, TestProject};

const SCHEMA: &str = "create table if not exists documents (\n  id bigint generated always as identity primary key,\n  title text not null,\n  body text not null\n);\n";

/// The guarded form teams write so a migration also runs where the extension already exists
/// (or is created by the platform): the pre-check only sees top-level statements.
const GUARDED_VECTOR: &str = "create schema if not exists extensions;\n\ndo $$\nbegin\n  if not exists (select from pg_extension where extname = 'vector') then\n    create extension vector with schema extensions;\n  end if;\nend\n$$;\n\nalter table documents add column if not exists embedding extensions.vector(384);\n";

const PLAIN_VECTOR: &str =
    "create extension if not exists vector;\n\nalter table documents add column if not exists embedding vector(384);\n";

fn require_missing_vector(extension_dir: &str) {
    assert!(
        !Path::new(extension_dir).join("vector.control").exists(),
        "pgvector is installed in {extension_dir}: these tests need an extension the machine lacks"
    );
}

fn project(embeddings: &str) -> TestProject {
    let p = TestProject::new();
    p.migration("20240601090000", "documents", SCHEMA);
    p.migration("20240601090100", "embeddings", embeddings);
    p
}

fn assert_paragraph(err: &str, located: &str) {
    assert!(err.contains(located), "{err}");
    assert!(
        err.contains("extension \"vector\" is not installed in the PostgreSQL 15"),
        "{err}"
    );
    assert!(
        err.contains("/usr/share/postgresql/15/extension/vector.control"),
        "{err}"
    );
    assert!(err.contains("postgresql-15-pgvector"), "{err}");
    assert!(err.contains("DBSAGE_PG_BIN"), "{err}");
}

#[test]
fn a_create_extension_inside_a_do_block_gets_the_paragraph_in_migrate_local() {
    require_missing_vector("/usr/share/postgresql/15/extension");
    let p = project(GUARDED_VECTOR);
    let out = p.run(&["migrate", "--local"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    // The DO block starts on line 3 of the file.
    assert_paragraph(&stderr(&out), "20240601090100_embeddings.sql:3:1");
}

#[test]
fn migrate_to_an_environment_gets_the_paragraph_from_the_servers_error() {
    require_missing_vector("/usr/share/postgresql/15/extension");
    let p = project(PLAIN_VECTOR);
    let out = p.run(&["migrate"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_paragraph(&stderr(&out), "20240601090100_embeddings.sql:1:1");
    assert_eq!(p.history(), ["20240601090000"]);

    // The same in JSON, as the error's hint.
    let (json, code) = p.json(&["migrate"]);
    assert_eq!(code, 1, "{json}");
    let error = &json["error"];
    assert_eq!(error["file"], "migrations/20240601090100_embeddings.sql");
    assert!(
        error["hint"]
            .as_str()
            .unwrap()
            .contains("`apt-get install -y postgresql-15-pgvector`"),
        "{json:#}"
    );
}

struct DevGuard(PathBuf);
impl Drop for DevGuard {
    fn drop(&mut self) {
        if let Ok(mut dev) = dbsage_cluster::DevCluster::open(&self.0) {
            let _ = dev.destroy();
        }
    }
}

#[test]
fn the_dev_database_gets_the_paragraph() {
    require_missing_vector("/usr/share/postgresql/15/extension");
    let dir = tempfile::tempdir().unwrap();
    let _guard = DevGuard(dir.path().to_path_buf());
    let dbsage = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_dbsage"))
            .current_dir(dir.path())
            .env("NO_COLOR", "1")
            .env_remove("DATABASE_URL")
            .env_remove("DBSAGE_PG_BIN")
            .args(args)
            .output()
            .unwrap()
    };
    assert_eq!(dbsage(&["init", "--no-check"]).status.code(), Some(0));
    let migrations = dir.path().join("migrations");
    std::fs::write(migrations.join("20240601090000_documents.sql"), SCHEMA).unwrap();
    std::fs::write(
        migrations.join("20240601090100_embeddings.sql"),
        PLAIN_VECTOR,
    )
    .unwrap();
    let out = dbsage(&["migrate"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_paragraph(&stderr(&out), "20240601090100_embeddings.sql:1:1");

    let out = dbsage(&["dev", "reset"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_paragraph(&stderr(&out), "20240601090100_embeddings.sql:1:1");
}

#[test]
fn postgresql_17s_wording_is_read_too() {
    let bin = Path::new("/var/cache/dbsage/pg/17.10.0/bin");
    assert!(
        bin.join("postgres").is_file(),
        "PostgreSQL 17.10 is expected in dbsage's cache"
    );
    let install = dbsage_cluster::PgInstall::at(bin).unwrap();
    require_missing_vector(&install.extension_dir().display().to_string());
    let p = project(GUARDED_VECTOR);
    let out = p
        .cmd()
        .env("DBSAGE_PG_BIN", bin)
        .args(["migrate", "--local"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("20240601090100_embeddings.sql:3:1"), "{err}");
    assert!(err.contains("0A000"), "{err}");
    assert!(
        err.contains("extension \"vector\" is not installed in the PostgreSQL 17.10"),
        "{err}"
    );
    assert!(err.contains("DBSAGE_PG_BIN"), "{err}");
}
