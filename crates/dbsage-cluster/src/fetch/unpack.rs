//! Turning a downloaded package into a server tree: verify the integrity hash, unpack
//! `package/native/`, create the library symlinks the package lists, open it up to the server
//! user.

use std::fs;
use std::io::{self, Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Component, Path, PathBuf};

use base64::Engine;
use sha2::{Digest, Sha512};

use super::FetchError;

/// The part of the package that is the server build.
const NATIVE_PREFIX: &str = "package/native/";

/// Downloads `url` into `dest`, reporting `(received, total)` as bytes arrive, and returns the
/// body's SHA-512.
pub(crate) fn download(
    agent: &ureq::Agent,
    url: &str,
    dest: &Path,
    progress: &mut dyn FnMut(u64, Option<u64>),
) -> Result<Vec<u8>, FetchError> {
    let mut response = agent
        .get(url)
        .call()
        .map_err(|e| FetchError::from_http(url, e))?;
    let total = response.body().content_length();
    let mut body = response.body_mut().as_reader();
    let mut file =
        fs::File::create(dest).map_err(|e| FetchError::io("creating the download file", e))?;
    let mut hasher = Sha512::new();
    let mut buf = vec![0u8; 256 * 1024];
    let mut received = 0u64;
    progress(0, total);
    loop {
        let n = match body.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => {
                return Err(FetchError::Unreachable {
                    url: super::shown_url(url),
                    reason: format!("the download broke off after {received} bytes: {e}"),
                })
            }
        };
        hasher.update(&buf[..n]);
        file.write_all(&buf[..n])
            .map_err(|e| FetchError::io("writing the download", e))?;
        received += n as u64;
        progress(received, total);
    }
    file.sync_all()
        .map_err(|e| FetchError::io("writing the download", e))?;
    Ok(hasher.finalize().to_vec())
}

/// Checks the body's SHA-512 against the registry's `sha512-<base64>` integrity string.
pub(crate) fn verify_integrity(url: &str, expected: &str, sha512: &[u8]) -> Result<(), FetchError> {
    let actual = format!(
        "sha512-{}",
        base64::engine::general_purpose::STANDARD.encode(sha512)
    );
    // A registry may list several hashes separated by spaces; one sha512 match is enough.
    let listed: Vec<&str> = expected
        .split_whitespace()
        .filter(|h| h.starts_with("sha512-"))
        .collect();
    if listed.is_empty() {
        return Err(FetchError::Metadata {
            url: super::shown_url(url),
            reason: format!("no sha512 integrity hash for the tarball (got {expected:?})"),
        });
    }
    if listed.contains(&actual.as_str()) {
        Ok(())
    } else {
        Err(FetchError::Integrity {
            url: super::shown_url(url),
            expected: expected.to_string(),
            actual,
        })
    }
}

/// Unpacks `package/native/**` of the gzipped tarball into `tree` (regular files and
/// directories only: nothing in it may point outside `tree`).
pub(crate) fn unpack_native(tarball: &Path, tree: &Path) -> Result<(), FetchError> {
    let file = fs::File::open(tarball).map_err(|e| FetchError::io("opening the download", e))?;
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(io::BufReader::new(file)));
    let broken = |e: io::Error| FetchError::BadPackage {
        reason: format!("cannot read the tarball: {e}"),
    };
    fs::create_dir_all(tree).map_err(|e| FetchError::io("creating the unpack directory", e))?;
    let mut files = 0usize;
    for entry in archive.entries().map_err(broken)? {
        let mut entry = entry.map_err(broken)?;
        let path = entry.path().map_err(broken)?.to_string_lossy().to_string();
        let Some(rel) = path.strip_prefix(NATIVE_PREFIX) else {
            continue;
        };
        let rel = inside(rel).ok_or_else(|| FetchError::BadPackage {
            reason: format!("the tarball entry {path:?} points outside the package"),
        })?;
        let dest = tree.join(&rel);
        match entry.header().entry_type() {
            tar::EntryType::Directory => {
                fs::create_dir_all(&dest).map_err(|e| FetchError::io("unpacking", e))?;
            }
            tar::EntryType::Regular | tar::EntryType::Continuous => {
                if let Some(parent) = dest.parent() {
                    fs::create_dir_all(parent).map_err(|e| FetchError::io("unpacking", e))?;
                }
                entry
                    .unpack(&dest)
                    .map_err(|e| FetchError::io(&format!("unpacking {path}"), e))?;
                files += 1;
            }
            other => {
                return Err(FetchError::BadPackage {
                    reason: format!("the tarball entry {path:?} is a {other:?}, not a file"),
                })
            }
        }
    }
    if files == 0 {
        return Err(FetchError::BadPackage {
            reason: format!("the tarball has no {NATIVE_PREFIX} directory"),
        });
    }
    Ok(())
}

#[derive(serde::Deserialize)]
struct SymlinkSpec {
    source: String,
    target: String,
}

/// Creates the symlinks `pg-symlinks.json` lists (`native/lib/libicuuc.so.60` →
/// `libicuuc.so.60.2`): npm packages cannot hold symlinks, and without them the server cannot
/// load its ICU libraries. Returns how many were created.
pub(crate) fn create_symlinks(tree: &Path) -> Result<usize, FetchError> {
    let list = tree.join("pg-symlinks.json");
    let Ok(text) = fs::read_to_string(&list) else {
        return Ok(0);
    };
    let specs: Vec<SymlinkSpec> =
        serde_json::from_str(&text).map_err(|e| FetchError::BadPackage {
            reason: format!("pg-symlinks.json: {e}"),
        })?;
    let mut created = 0;
    for spec in specs {
        let rel = |p: &str| {
            inside(p.strip_prefix("native/").unwrap_or(p)).ok_or_else(|| FetchError::BadPackage {
                reason: format!("pg-symlinks.json: {p:?} points outside the package"),
            })
        };
        let (source, target) = (rel(&spec.source)?, rel(&spec.target)?);
        let link = tree.join(&target);
        if link.symlink_metadata().is_ok() {
            continue;
        }
        // Relative, so the tree can move (staging dir → cache).
        let pointing_to = relative_to(target.parent().unwrap_or(Path::new("")), &source);
        std::os::unix::fs::symlink(&pointing_to, &link)
            .map_err(|e| FetchError::io(&format!("creating the symlink {}", link.display()), e))?;
        created += 1;
    }
    Ok(created)
}

/// Every directory 0755 and every file readable by all: the server runs as another user.
pub(crate) fn open_to_server_user(dir: &Path) -> io::Result<()> {
    fs::set_permissions(dir, fs::Permissions::from_mode(0o755))?;
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        let kind = entry.file_type()?;
        if kind.is_dir() {
            open_to_server_user(&entry.path())?;
        } else if kind.is_file() {
            let mode = entry.metadata()?.permissions().mode();
            fs::set_permissions(entry.path(), fs::Permissions::from_mode(mode | 0o444))?;
        }
    }
    Ok(())
}

/// `rel` as a path that stays inside its root (no `..`, no absolute path), or `None`.
fn inside(rel: &str) -> Option<PathBuf> {
    let path = Path::new(rel);
    path.components()
        .all(|c| matches!(c, Component::Normal(_) | Component::CurDir))
        .then(|| path.to_path_buf())
        .filter(|p| p.components().next().is_some())
}

/// The relative path from directory `from` to `to` (both relative to the same root).
fn relative_to(from: &Path, to: &Path) -> PathBuf {
    let from: Vec<_> = from.components().collect();
    let to_parts: Vec<_> = to.components().collect();
    let common = from
        .iter()
        .zip(&to_parts)
        .take_while(|(a, b)| a == b)
        .count();
    let mut out = PathBuf::new();
    for _ in common..from.len() {
        out.push("..");
    }
    for part in &to_parts[common..] {
        out.push(part);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn symlink_targets_are_relative_and_paths_stay_inside() {
        assert_eq!(
            relative_to(Path::new("lib"), Path::new("lib/libicuuc.so.60.2")),
            PathBuf::from("libicuuc.so.60.2")
        );
        assert_eq!(
            relative_to(Path::new("lib/x"), Path::new("bin/postgres")),
            PathBuf::from("../../bin/postgres")
        );
        assert!(inside("../etc/passwd").is_none());
        assert!(inside("/etc/passwd").is_none());
        assert!(inside("lib/a.so").is_some());
    }
}
