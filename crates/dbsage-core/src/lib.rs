//! dbsage's workflows as a library: the binary only parses arguments and renders results.
//!
//! Map (see ARCHITECTURE.md): [`config`] finds and reads `dbsage.toml`; [`env`] turns an
//! environment name into a connection; [`migrations`] reads migration files; [`history`] owns the
//! history and audit tables ([`event_log`]: the audit log's hash chain; [`actor`]: who from the
//! OS); [`migrate`] applies migrations; [`local`] is `migrate --local`;
//! [`rollback`] undoes them; [`reverse`] derives undo statements from parsed SQL.

pub mod actor;
pub mod adopted;
pub mod baseline;
pub mod config;
pub mod connect;
pub mod error;
pub mod migrations;
pub mod missing_extension;
pub mod redact;

pub use error::{Error, Result};
pub mod env;
pub mod event_log;
pub mod exposure;
pub mod extension_packages;
pub mod extensions;
pub mod fan_out;
pub mod fixtures;
pub mod fleet;
pub mod folder_fixtures;
pub mod gates;
pub mod history;
pub mod lint;
pub mod lint_skipped;
pub mod lint_target;
pub mod local;
pub mod mark_applied;
pub mod migrate;
pub mod partial;
pub mod pg_version;
pub mod plpgsql_check;
pub mod project_file;
pub mod protection;
pub mod protection_address;
pub mod rerun_hint;
pub mod reverse;
pub mod rollback;
pub mod server_settings;
pub mod supabase_layer;
pub mod test_setup;
pub mod wording;
