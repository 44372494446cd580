//! One error type for the whole crate, with the exit code the CLI should use: bad input that
//! the user must fix in a file or on the command line is told apart from a database failure.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum SecureError {
    /// A policy test file that does not parse or does not follow the format.
    #[error("{}:{line}:{column}: {}{message}", path.display(), key.as_ref().map(|k| format!("key `{k}`: ")).unwrap_or_default())]
    TestFile {
        path: PathBuf,
        line: usize,
        column: usize,
        /// The offending key (`expect`, `rows`, `as.role`), when it is known.
        key: Option<String>,
        message: String,
    },
    /// A role that does not exist in the database.
    #[error("{context}: role `{role}` does not exist in this database (create it, or load the Supabase compatibility layer)")]
    UnknownRole { role: String, context: String },
    /// A table (or other relation) the SQL names does not exist.
    #[error("{context}: {message}")]
    MissingTable { context: String, message: String },
    /// Anything else the user must fix: a missing directory, a forbidden statement.
    #[error("{0}")]
    BadInput(String),
    /// A new session to the database under test could not be opened.
    #[error("opening a session for {what}: {message}")]
    Session { what: String, message: String },
    #[error("{what}: {source}")]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{context}: {}", dbsage_pgerror::describe(source))]
    Database {
        context: String,
        #[source]
        source: postgres::Error,
    },
}

impl SecureError {
    /// 2 for bad input (a malformed test file, an unknown role, a missing table), 1 otherwise.
    pub fn exit_code(&self) -> i32 {
        match self {
            SecureError::TestFile { .. }
            | SecureError::UnknownRole { .. }
            | SecureError::MissingTable { .. }
            | SecureError::BadInput(_) => 2,
            SecureError::Io { .. } | SecureError::Session { .. } | SecureError::Database { .. } => {
                1
            }
        }
    }

    pub(crate) fn db(context: impl Into<String>) -> impl FnOnce(postgres::Error) -> SecureError {
        let context = context.into();
        move |source| SecureError::Database { context, source }
    }
}

/// The SQLSTATE of a database error, such as `42501`.
pub(crate) fn sqlstate(error: &postgres::Error) -> Option<String> {
    error.code().map(|c| c.code().to_string())
}

/// The server's message of a database error, or the client-side cause chain (never the
/// driver's bare "db error").
pub(crate) fn db_message(error: &postgres::Error) -> String {
    match error.as_db_error() {
        Some(db) => db.message().to_string(),
        None => dbsage_pgerror::cause_chain(error),
    }
}
