//! dbsage's errors. Each says what went wrong and what to do, and maps to a documented exit
//! code: 1 a migration or check failed or history is inconsistent, 2 usage or configuration,
//! 3 refused by a gate.

use std::path::PathBuf;

use miette::{Diagnostic, NamedSource, SourceSpan};

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Exit codes, as documented in `--help` and the README.
pub mod exit {
    pub const OK: i32 = 0;
    pub const FAILED: i32 = 1;
    pub const USAGE: i32 = 2;
    pub const REFUSED: i32 = 3;
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{message}")]
    Config { message: String, hint: String },
    #[error("cannot connect to {target}: {message}")]
    Connect {
        target: String,
        message: String,
        hint: String,
    },
    #[error(transparent)]
    Cluster(#[from] dbsage_cluster::ClusterError),
    #[error(transparent)]
    Migration(Box<MigrationError>),
    #[error("{message}")]
    Inconsistent { message: String, hint: String },
    #[error("{message}")]
    Refused { message: String, hint: String },
    #[error("{message}")]
    Failed { message: String, hint: String },
    /// A driver error: displays the server's message and SQLSTATE (or the client-side cause
    /// chain), never the driver's bare "db error".
    #[error("{context}: {}", dbsage_pgerror::headline(source))]
    Db {
        context: String,
        #[source]
        source: postgres::Error,
    },
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
}

impl Error {
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Config { .. } | Error::Connect { .. } => exit::USAGE,
            Error::Cluster(dbsage_cluster::ClusterError::NoServer { .. })
            | Error::Cluster(dbsage_cluster::ClusterError::WrongVersion { .. })
            | Error::Cluster(dbsage_cluster::ClusterError::DevVersionMismatch { .. })
            | Error::Cluster(dbsage_cluster::ClusterError::NoServerUser { .. }) => exit::USAGE,
            Error::Refused { .. } => exit::REFUSED,
            _ => exit::FAILED,
        }
    }

    /// dbsage's advice, when it has some.
    pub fn hint(&self) -> Option<&str> {
        match self {
            Error::Config { hint, .. }
            | Error::Connect { hint, .. }
            | Error::Inconsistent { hint, .. }
            | Error::Refused { hint, .. }
            | Error::Failed { hint, .. } => Some(hint.as_str()).filter(|h| !h.is_empty()),
            Error::Migration(m) => m.dbsage_hint.as_deref(),
            Error::Db { .. } => self.sqlstate().and_then(hint_for_sqlstate),
            _ => None,
        }
    }

    /// The server's SQLSTATE, when the server reported the error.
    pub fn sqlstate(&self) -> Option<&str> {
        match self {
            Error::Migration(m) => Some(m.sqlstate.as_str()),
            Error::Db { source, .. } => source.as_db_error().map(|db| db.code().code()),
            _ => None,
        }
    }

    /// The server's DETAIL field.
    pub fn detail(&self) -> Option<&str> {
        match self {
            Error::Migration(m) => m.detail.as_deref(),
            Error::Db { source, .. } => source.as_db_error().and_then(|db| db.detail()),
            _ => None,
        }
    }

    /// The server's HINT field (dbsage's own advice is [`Error::hint`]).
    pub fn server_hint(&self) -> Option<&str> {
        match self {
            Error::Migration(m) => m.server_hint.as_deref(),
            Error::Db { source, .. } => source.as_db_error().and_then(|db| db.hint()),
            _ => None,
        }
    }

    pub fn io(context: impl Into<String>, source: std::io::Error) -> Error {
        Error::Io {
            context: context.into(),
            source,
        }
    }

    pub fn db(context: impl Into<String>, source: postgres::Error) -> Error {
        Error::Db {
            context: context.into(),
            source,
        }
    }

    /// A short machine-readable kind for JSON output.
    pub fn kind(&self) -> &'static str {
        match self {
            Error::Config { .. } => "config",
            Error::Connect { .. } => "connect",
            Error::Cluster(_) => "local-cluster",
            Error::Migration(_) => "migration",
            Error::Inconsistent { .. } => "inconsistent-history",
            Error::Refused { .. } => "refused",
            Error::Failed { .. } => "failed",
            Error::Db { .. } => "database",
            Error::Io { .. } => "io",
        }
    }
}

/// A statement of a migration file that failed, located in the file.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{file}:{line}:{column}: {message}")]
pub struct MigrationError {
    pub file: PathBuf,
    /// 1-based line and column of the error position (or of the statement when the server gave
    /// no position).
    pub line: usize,
    pub column: usize,
    pub sqlstate: String,
    pub message: String,
    pub detail: Option<String>,
    pub server_hint: Option<String>,
    pub dbsage_hint: Option<String>,
    /// Byte offset of the error and the statement's range, for the caret rendering.
    pub offset: usize,
    pub statement: std::ops::Range<usize>,
    /// The whole file text (for rendering the excerpt).
    pub source_text: String,
}

impl MigrationError {
    /// A miette report with the statement excerpt and a caret at the error.
    pub fn diagnostic(&self) -> MigrationDiagnostic {
        let mut help = Vec::new();
        if let Some(d) = &self.detail {
            help.push(format!("detail: {d}"));
        }
        if let Some(h) = &self.server_hint {
            help.push(format!("server hint: {h}"));
        }
        if let Some(h) = &self.dbsage_hint {
            help.push(h.clone());
        }
        MigrationDiagnostic {
            headline: format!(
                "{}:{}:{}: {} [SQLSTATE {}]",
                self.file.display(),
                self.line,
                self.column,
                self.message,
                self.sqlstate
            ),
            code: self.sqlstate.clone(),
            src: NamedSource::new(self.file.display().to_string(), self.source_text.clone()),
            at: SourceSpan::new(self.offset.into(), 0),
            help: (!help.is_empty()).then(|| help.join("\n")),
        }
    }
}

#[derive(Debug, thiserror::Error, Diagnostic)]
#[error("{headline}")]
pub struct MigrationDiagnostic {
    headline: String,
    #[diagnostic(code)]
    code: String,
    #[source_code]
    src: NamedSource<String>,
    #[label("here")]
    at: SourceSpan,
    #[help]
    help: Option<String>,
}

/// dbsage's advice for the SQLSTATEs users meet most.
pub fn hint_for_sqlstate(code: &str) -> Option<&'static str> {
    Some(match code {
        "42P07" | "42701" | "42710" => {
            "the object already exists: make the migration idempotent (CREATE … IF NOT EXISTS, ADD COLUMN IF NOT EXISTS, DROP … IF EXISTS before CREATE POLICY)"
        }
        "42P01" | "42703" | "42883" | "3F000" => {
            "the object does not exist yet: check the migrations' order, or that an earlier migration creates it"
        }
        "42501" => {
            "permission denied: the connecting role lacks a privilege or ownership; run as the owner or GRANT what is missing"
        }
        "55P03" => {
            "lock timeout: another session holds a conflicting lock; retry when it is gone, or raise migrate.lock_timeout"
        }
        "57014" => "statement timeout: raise migrate.statement_timeout, or split the work",
        "25001" => {
            "this statement cannot run inside a transaction: put it in its own migration whose first line is `-- dbsage:no-transaction`"
        }
        "23505" => "a unique constraint is violated by existing rows: clean the duplicates first",
        "23502" => "existing rows hold NULL: backfill them before adding NOT NULL",
        "42601" => "syntax error: check the SQL near the caret",
        _ => return None,
    })
}

/// A failure of the work itself (exit 1), with what to do.
pub fn failed(message: impl Into<String>, hint: impl Into<String>) -> Error {
    Error::Failed {
        message: message.into(),
        hint: hint.into(),
    }
}

/// A usage or configuration problem (exit 2), with what to do.
pub fn config_error(message: impl Into<String>, hint: impl Into<String>) -> Error {
    Error::Config {
        message: message.into(),
        hint: hint.into(),
    }
}
