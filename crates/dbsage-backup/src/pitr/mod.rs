//! Point-in-time recovery through pgBackRest (the engine; dbsage writes no WAL archiver):
//! `setup` (stanza config, `archive_command`, `stanza-create`, `check`), `backup`
//! (full/diff/incr) and `restore` to a moment into a new data directory, started and verified.
//! Managed platforms are refused with what the platform offers instead ([`platform`]).

pub mod backup;
pub mod config;
pub mod pgbackrest;
pub mod platform;
pub mod restore;
pub mod setup;
pub mod target_time;

pub use backup::{backup, PitrBackupReport};
pub use config::PitrConfig;
pub use restore::{restore, PitrRestoreOptions, PitrRestoreReport};
pub use setup::{setup, SetupReport};
