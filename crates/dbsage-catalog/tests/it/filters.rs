//! What is left out: excluded schemas, system schemas, and objects of extensions.

use crate::common;

use dbsage_catalog::{Catalog, ReadOptions, TableKind};

const BOOKKEEPING: &str = r#"
CREATE SCHEMA dbsage;
CREATE TABLE dbsage.migrations (version text PRIMARY KEY, applied_at timestamptz DEFAULT now());
CREATE INDEX migrations_applied_idx ON dbsage.migrations (applied_at);
CREATE FUNCTION dbsage.bump() RETURNS int LANGUAGE sql AS 'SELECT 1';
CREATE SEQUENCE dbsage.runs;
CREATE TYPE dbsage.state AS ENUM ('up', 'down');
CREATE VIEW dbsage.latest AS SELECT max(version) FROM dbsage.migrations;
CREATE TABLE public.kept (id int);
CREATE TEMP TABLE scratch (id int);
"#;

/// Every object key mentioning the `dbsage` schema.
fn dbsage_keys(catalog: &Catalog) -> Vec<String> {
    catalog
        .objects()
        .into_keys()
        .filter(|k| k.contains("dbsage"))
        .collect()
}

#[test]
fn excluded_schemas_are_left_out_entirely() {
    let (_cluster, mut client) = common::start();
    client.batch_execute(BOOKKEEPING).unwrap();

    let everything = common::read(&mut client);
    assert!(everything.table("dbsage", "migrations").is_some());
    assert!(everything.schemas.iter().any(|s| s.name == "dbsage"));
    assert_eq!(
        dbsage_keys(&everything).len(),
        24,
        "{:#?}",
        dbsage_keys(&everything)
    );

    let options = ReadOptions {
        exclude_schemas: vec!["dbsage".to_string()],
    };
    let filtered = Catalog::read(&mut client, &options).unwrap();
    assert_eq!(dbsage_keys(&filtered), Vec::<String>::new());
    assert!(filtered.table("public", "kept").is_some());
    assert!(filtered.schemas.iter().all(|s| s.name != "dbsage"));
    assert!(filtered.functions.is_empty());
    assert!(filtered.sequences.is_empty());
    assert!(filtered.enums.is_empty());
    assert!(filtered.views.is_empty());
}

#[test]
fn system_and_temporary_schemas_are_always_left_out() {
    let (_cluster, mut client) = common::start();
    client.batch_execute(BOOKKEEPING).unwrap();
    let catalog = common::read(&mut client);
    let schemas: Vec<&str> = catalog.schemas.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(schemas, ["dbsage", "public"]);
    assert!(catalog.tables.iter().all(|t| t.name != "scratch"));
    assert!(catalog
        .functions
        .iter()
        .all(|f| f.schema != "pg_catalog" && f.schema != "information_schema"));
}

#[test]
fn objects_of_extensions_are_left_out() {
    let (_cluster, mut client) = common::start();
    client
        .batch_execute(
            "CREATE EXTENSION pgcrypto;
             CREATE EXTENSION pg_stat_statements;
             CREATE EXTENSION file_fdw;
             CREATE SERVER files FOREIGN DATA WRAPPER file_fdw;
             CREATE FOREIGN TABLE public.lines (line text) SERVER files OPTIONS (filename '/dev/null');
             CREATE FUNCTION public.hash(t text) RETURNS text LANGUAGE sql
                 AS $$ SELECT encode(digest(t, 'sha256'), 'hex') $$;",
        )
        .unwrap();
    let catalog = common::read(&mut client);

    let functions: Vec<&str> = catalog.functions.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(functions, ["hash"]);
    let views: Vec<&str> = catalog.views.iter().map(|v| v.name.as_str()).collect();
    assert_eq!(views, Vec::<&str>::new(), "pg_stat_statements views leaked");
    let extensions: Vec<(&str, &str)> = catalog
        .extensions
        .iter()
        .map(|e| (e.name.as_str(), e.schema.as_str()))
        .collect();
    assert_eq!(
        extensions,
        [
            ("file_fdw", "public"),
            ("pg_stat_statements", "public"),
            ("pgcrypto", "public"),
            ("plpgsql", "pg_catalog")
        ]
    );
    assert!(!catalog.extensions[2].version.is_empty());
    // A foreign table the project made is kept.
    let lines = catalog.table("public", "lines").unwrap();
    assert_eq!(lines.kind, TableKind::Foreign);
    assert_eq!(lines.columns[0].name, "line");
    assert_eq!(
        catalog
            .objects()
            .get("table public.lines")
            .map(String::as_str),
        Some("foreign table")
    );
}
