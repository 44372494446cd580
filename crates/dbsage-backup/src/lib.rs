//! Logical backups that are proven by restoring them.
//!
//! `backup`: `pg_dump -Fd --jobs` in the snapshot of a repeatable-read transaction that also
//! counts every table's rows and checksums the small ones, roles from `pg_dumpall
//! --globals-only`, a `manifest.json` with a sha256 per file, `pg_restore --list` as the last
//! check, then retention. `verify`: the files against the manifest, then a restore on a
//! throwaway cluster compared table by table (rows, checksums, foreign keys, `amcheck`, RLS).
//! `restore`: into a new database on the target server (or in place, after a fresh backup).

pub mod compare;
pub mod config;
pub mod drill;
pub mod dump;
pub mod endpoint;
pub mod files;
pub mod interrupt;
pub mod manifest;
pub mod pg_restore;
pub mod pitr;
pub mod restore;
pub mod retention;
pub mod roles;
pub mod snapshot;
pub mod store;
pub mod tools;
pub mod verify;

pub use config::BackupConfig;
pub use dump::{backup, BackupOptions, BackupReport, Content, Progress};
pub use manifest::{Manifest, FORMAT_VERSION};
pub use restore::{restore, RestoreOptions, RestoreReport};
pub use store::{list, locate, BackupSummary};
pub use verify::{verify, VerifyReport};

/// Error constructors shared with the other workflow crates.
pub(crate) use dbsage_core::error::{config_error, failed};
