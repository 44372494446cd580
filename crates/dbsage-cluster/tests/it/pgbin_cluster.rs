//! A throwaway cluster on a PostgreSQL build fetched by `pg install` (no pg_config; modules in
//! `lib/postgresql`): it starts from its own initdb template, finds its libraries and
//! extensions, and `CREATE EXTENSION pgtap` works with the pgTAP copied from the system.
//!
//! It sets DBSAGE_PG_BIN and DBSAGE_CACHE_DIR for the whole process: it runs alone in a child
//! process (`alone`).

use crate::alone::{is_alone, run_alone};
use crate::pgbin_support;

use std::path::Path;

use dbsage_cluster::{fetch, Cluster};
use pgbin_support::{integrity, reachable_tempdir, tarball, Registry};

#[test]
fn a_throwaway_cluster_runs_on_the_fetched_17_with_pgtap() {
    run_alone("pgbin_cluster::on_the_fetched_17");
}

#[test]
#[ignore = "sets process-wide variables: run by a_throwaway_cluster_runs_on_the_fetched_17_with_pgtap"]
fn on_the_fetched_17() {
    assert!(
        is_alone("pgbin_cluster::on_the_fetched_17"),
        "run me through a_throwaway_cluster_runs_on_the_fetched_17_with_pgtap"
    );
    let registry = Registry::serve(tarball().to_vec(), integrity(tarball()));
    let home = reachable_tempdir();
    let cache = home.path().join("pg");
    let installed = fetch::install(17, &registry.url, &cache, &mut |_, _| {}).unwrap();
    let bin = installed.install.bin_dir.clone();
    std::env::set_var("DBSAGE_PG_BIN", &bin);
    // A template cache of this test's own: the first start runs initdb with the fetched build.
    std::env::set_var("DBSAGE_CACHE_DIR", home.path().join("dbsage-cache"));

    let cluster = Cluster::start().unwrap();
    assert_eq!(cluster.install().bin_dir, bin);
    let install = cluster.install();
    assert!(
        install.has_library("auto_explain"),
        "{:?}",
        install.library_dir()
    );
    assert!(install.has_extension("pgtap"));
    let templates: Vec<_> = std::fs::read_dir(home.path().join("dbsage-cache/templates"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().to_string())
        .collect();
    assert!(
        templates.iter().any(|t| t.starts_with("pg17.10-")),
        "{templates:?}"
    );

    let mut client = cluster.connect("postgres").unwrap();
    let version: String = client
        .query_one("show server_version_num", &[])
        .unwrap()
        .get(0);
    assert!(version.starts_with("17"), "{version}");
    client
        .batch_execute(
            "create extension pgtap; create table notes (id int primary key); select plan(1)",
        )
        .unwrap();
    let tap: String = client
        .query_one("select has_table('public', 'notes', 'notes exists')", &[])
        .unwrap()
        .get(0);
    assert_eq!(tap, "ok 1 - notes exists");
    // The ICU collations the symlinks make loadable.
    client
        .batch_execute("create collation german (provider = icu, locale = 'de-DE')")
        .unwrap();
    drop(client);
    cluster.stop();

    // A second cluster starts from that template.
    let again = Cluster::start().unwrap();
    assert!(Path::new(&again.data_dir()).join("PG_VERSION").is_file());
    again.stop();
}
