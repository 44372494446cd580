//! Errors of adopting another tool's migrations: each names the file and what to do about it.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum AdoptError {
    #[error("reading {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path} is not UTF-8 text")]
    NotUtf8 { path: PathBuf },
    #[error("two migrations share version {version}: {first} and {second}")]
    DuplicateVersion {
        version: String,
        first: PathBuf,
        second: PathBuf,
    },
    #[error("{path} has no matching up migration (expected {expected} beside it)")]
    OrphanDown { path: PathBuf, expected: String },
    #[error("{path} has no `-- migrate:up` section, which dbmate requires")]
    MissingUpSection { path: PathBuf },
    #[error("{path}: {reason}")]
    Unsupported { path: PathBuf, reason: String },
    #[error(
        "golang-migrate's schema_migrations marks version {version} dirty: that migration failed \
         midway and the database may hold part of it. Check what it did, finish or undo it by \
         hand, then clear the flag with `migrate force {version}` (or the previous version if you \
         undid it) before dbsage takes over"
    )]
    Dirty { version: String },
    #[error("reading the migration history: {}", dbsage_pgerror::describe(.0))]
    Database(#[from] postgres::Error),
}

impl AdoptError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        AdoptError::Io {
            path: path.into(),
            source,
        }
    }
}
