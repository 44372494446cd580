//! `manifest.json`: what a backup holds and how to check it. Written last, so a folder without
//! one is an unfinished backup. It carries its own sha256 (over its content with that field
//! empty), so a hand edit is caught like a damaged file.

use std::path::Path;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The manifest layout this dbsage writes and the newest it reads.
pub const FORMAT_VERSION: u32 = 1;
pub const FORMAT_NAME: &str = "dbsage-backup";
pub const FILE_NAME: &str = "manifest.json";
/// The pg_dump directory-format archive inside a backup folder.
pub const DUMP_DIR: &str = "dump";
/// Roles and tablespaces from `pg_dumpall --globals-only`.
pub const ROLES_FILE: &str = "roles.sql";

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Manifest {
    pub format: String,
    pub format_version: u32,
    pub id: String,
    pub environment: String,
    pub database: String,
    /// RFC 3339, UTC.
    pub created_at: String,
    pub created_unix: i64,
    pub dbsage_version: String,
    pub server_version: String,
    pub server_major: u32,
    pub pg_dump_version: String,
    pub pg_dump_major: u32,
    /// `full`, `schema-only` or `data-only`.
    pub content: String,
    /// Schemas left out (the ones Supabase manages, unless `--include-managed`).
    pub excluded_schemas: Vec<String>,
    pub role_passwords: bool,
    pub jobs: u32,
    pub duration_ms: u64,
    pub total_bytes: u64,
    pub files: Vec<FileEntry>,
    pub tables: Vec<TableEntry>,
    /// sha256 of this manifest serialised with this field empty.
    pub manifest_sha256: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct FileEntry {
    /// Relative to the backup folder, `/`-separated.
    pub path: String,
    pub bytes: u64,
    pub sha256: String,
    /// `schema.table` when the file holds a table's data.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub table: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct TableEntry {
    pub schema: String,
    pub name: String,
    /// Exact, in the dump's snapshot; none for a schema-only backup.
    pub rows: Option<i64>,
    /// md5 of the rows' text ordered by primary key, for tables under the size limit.
    pub checksum: Option<String>,
    pub bytes: i64,
    pub rls_enabled: bool,
    pub rls_forced: bool,
    pub policies: i64,
}

impl TableEntry {
    pub fn qualified(&self) -> String {
        format!("{}.{}", self.schema, self.name)
    }
}

impl Manifest {
    /// The sha256 this manifest should carry.
    pub fn own_checksum(&self) -> String {
        let mut unsealed = self.clone();
        unsealed.manifest_sha256 = String::new();
        let bytes = serde_json::to_vec(&unsealed).expect("a manifest serialises");
        hex::encode(Sha256::digest(&bytes))
    }

    pub fn seal(&mut self) {
        self.manifest_sha256 = self.own_checksum();
    }

    pub fn is_sealed(&self) -> bool {
        self.manifest_sha256 == self.own_checksum()
    }

    /// Reads a backup folder's manifest: not a backup, unfinished, unreadable or from a newer
    /// dbsage are errors naming the folder. The seal is checked by the caller
    /// ([`Manifest::is_sealed`]), which reports a broken one as damage.
    pub fn read(dir: &Path) -> dbsage_core::Result<Manifest> {
        let path = dir.join(FILE_NAME);
        if !dir.is_dir() {
            return Err(crate::config_error(
                format!("{} is not a folder", dir.display()),
                "name a backup by its ID (`dbsage backup list`), `latest`, or a backup folder",
            ));
        }
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let unfinished = dir.join(DUMP_DIR).join("toc.dat").exists();
                return Err(crate::failed(
                    if unfinished {
                        format!("{} is an unfinished dbsage backup: it has no {FILE_NAME} (the backup stopped before it was checked)", dir.display())
                    } else {
                        format!("{} is not a dbsage backup: it has no {FILE_NAME}", dir.display())
                    },
                    "take a new backup with `dbsage backup`; only folders written by it can be verified or restored",
                ));
            }
            Err(e) => {
                return Err(dbsage_core::Error::io(
                    format!("reading {}", path.display()),
                    e,
                ))
            }
        };
        let value: serde_json::Value = serde_json::from_str(&text).map_err(|e| {
            crate::failed(
                format!(
                    "{}:{}:{}: not valid JSON: {e}",
                    path.display(),
                    e.line(),
                    e.column()
                ),
                "the manifest was damaged or edited by hand; this backup cannot be trusted",
            )
        })?;
        if value.get("format").and_then(|f| f.as_str()) != Some(FORMAT_NAME) {
            return Err(crate::failed(
                format!(
                    "{} is not a dbsage backup manifest (no \"format\": \"{FORMAT_NAME}\")",
                    path.display()
                ),
                "only folders written by `dbsage backup` can be verified or restored",
            ));
        }
        let version = value
            .get("format_version")
            .and_then(|v| v.as_u64())
            .unwrap_or(0);
        if version > u64::from(FORMAT_VERSION) {
            return Err(crate::config_error(
                format!(
                    "{} was written by a newer dbsage (manifest format {version}; this dbsage {} reads up to {FORMAT_VERSION})",
                    path.display(),
                    env!("CARGO_PKG_VERSION")
                ),
                "upgrade dbsage to verify or restore this backup",
            ));
        }
        serde_json::from_value(value).map_err(|e| {
            crate::failed(
                format!("{}: {e}", path.display()),
                "the manifest was damaged or edited by hand; this backup cannot be trusted",
            )
        })
    }
}
