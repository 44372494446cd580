//! `dbsage move`: a whole database to another server.
//!
//! `preflight` reads both servers and lists what would stop or spoil the move; `dump` is the
//! maintenance-window method (source read-only, `pg_dump -Fd -j` → `pg_restore -j`, counts
//! compared); `replicate` copies the schema and starts logical replication, `cutover` ends it
//! (source read-only, lag 0, sequences, counts, subscription dropped). `read_only` sets a
//! database read-only and always gives the way back; `compare` counts both sides; `state` is
//! the in-progress move under `.dbsage/moves/`.

pub mod audit;
pub mod compare;
pub mod cutover;
pub mod dump;
pub mod gates;
pub mod interrupt;
pub mod preflight;
pub mod program;
pub mod read_only;
pub mod replicate;
pub mod side;
pub mod state;

pub use cutover::{cutover, CutoverOptions, CutoverReport};
pub use dump::{dump, DumpOptions, DumpReport};
pub use preflight::{preflight, Preflight};
pub use replicate::{start, status, ReplicateOptions, ReplicateReport, SyncStatus};

/// How the data travels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Method {
    /// A maintenance window: the source is read-only from the dump to the cutover.
    Dump,
    /// Logical replication, read-only only for the cutover.
    Replicate,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Dump => "dump",
            Method::Replicate => "replicate",
        }
    }
}

/// Error constructors shared with the other workflow crates.
pub(crate) use dbsage_core::error::{config_error, failed};

/// `"name"` for SQL.
pub(crate) fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// `'text'` for SQL (standard_conforming_strings).
pub(crate) fn quote_literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// Adds a sentence to an error's message, keeping its kind (and so its exit code) and hint.
pub(crate) fn with_note(e: dbsage_core::Error, note: &str) -> dbsage_core::Error {
    use dbsage_core::Error;
    let hint = e.hint().unwrap_or_default().to_string();
    match e {
        Error::Config { message, hint } => Error::Config {
            message: format!("{message}\n{note}"),
            hint,
        },
        Error::Refused { message, hint } => Error::Refused {
            message: format!("{message}\n{note}"),
            hint,
        },
        other => Error::Failed {
            message: format!("{other}\n{note}"),
            hint,
        },
    }
}
