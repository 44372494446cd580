//! Import errors and the exit codes the CLI maps them to.
//!
//! Two families matter to a user: "you asked for something impossible" (usage, exit 2: unknown
//! table, unknown header columns, bad options) and "the data or the database said no" (exit 1:
//! rejected rows over the error budget, an empty file, I/O or server failures). A rejection
//! carries the full report, so the CLI can print the reconciled counts and every reject.

use crate::report::ImportReport;

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The request cannot work as given: nothing was read into the database.
    #[error("{0}")]
    Usage(String),
    /// Rows were rejected beyond the error budget: nothing was merged.
    #[error("{message}")]
    Rejected {
        message: String,
        report: Box<ImportReport>,
    },
    /// The source holds no data at all (not even a header).
    #[error("{0}")]
    EmptyInput(String),
    /// The source is not in its format (JSON that does not parse): where and why.
    #[error("{0}")]
    Parse(String),
    #[error("{what}: {source}")]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },
    /// A server error outside validation (for instance a unique index other than the key, or a
    /// trigger, refused the merge). The transaction was rolled back.
    #[error("{what}: {}", server_words(source))]
    Database {
        what: String,
        #[source]
        source: postgres::Error,
    },
}

impl ImportError {
    /// 1 for data rejected or a failed import, 2 for a usage error.
    pub fn exit_code(&self) -> i32 {
        match self {
            ImportError::Usage(_) => 2,
            _ => 1,
        }
    }

    /// The report of a rejected import, with the counts the merge would have produced.
    pub fn report(&self) -> Option<&ImportReport> {
        match self {
            ImportError::Rejected { report, .. } => Some(report),
            _ => None,
        }
    }

    /// An I/O error; one that carries a server error (COPY streams wrap them) becomes
    /// [`ImportError::Database`], so the server's words are shown.
    pub(crate) fn io(what: impl Into<String>, source: std::io::Error) -> Self {
        if source
            .get_ref()
            .is_some_and(|inner| inner.is::<postgres::Error>())
        {
            let inner = source.into_inner().expect("checked above");
            let source = *inner.downcast::<postgres::Error>().expect("checked above");
            return ImportError::Database {
                what: what.into(),
                source,
            };
        }
        ImportError::Io {
            what: what.into(),
            source,
        }
    }
}

/// What the server said: SQLSTATE, message, detail and hint (`postgres::Error` itself only
/// displays "db error"); for a client-side failure, the error and its causes.
pub fn server_words(error: &postgres::Error) -> String {
    if let Some(e) = error.as_db_error() {
        let mut out = format!("{} (SQLSTATE {})", e.message(), e.code().code());
        if let Some(detail) = e.detail() {
            out.push_str(&format!("\nDETAIL: {detail}"));
        }
        if let Some(hint) = e.hint() {
            out.push_str(&format!("\nHINT: {hint}"));
        }
        if let Some(context) = e.where_() {
            out.push_str(&format!("\nCONTEXT: {context}"));
        }
        return out;
    }
    dbsage_pgerror::cause_chain(error)
}

/// Shorthand for server calls: `tx.execute(..).map_err(db("creating the staging table"))?`.
pub(crate) fn db(what: &str) -> impl FnOnce(postgres::Error) -> ImportError + '_ {
    move |source| ImportError::Database {
        what: what.to_string(),
        source,
    }
}
