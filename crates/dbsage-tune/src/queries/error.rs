//! The error of `tune queries` and `explain`: a database failure (in the server's words), a
//! throwaway cluster that would not start, or input the user must fix.

#[derive(Debug, thiserror::Error)]
pub enum QueriesError {
    #[error("{context}: {}", dbsage_pgerror::describe(source))]
    Database {
        context: String,
        #[source]
        source: postgres::Error,
    },
    #[error(transparent)]
    Cluster(#[from] dbsage_cluster::ClusterError),
    /// SQL that does not parse, where the parser stopped (1-based).
    #[error("line {line}, column {column}: {message}")]
    Syntax {
        line: usize,
        column: usize,
        message: String,
    },
    /// A statement explain cannot take.
    #[error("{0}")]
    BadInput(String),
}

impl QueriesError {
    /// 2 for input the user must fix, 1 otherwise.
    pub fn exit_code(&self) -> i32 {
        match self {
            QueriesError::BadInput(_) | QueriesError::Syntax { .. } => 2,
            _ => 1,
        }
    }
}

/// `.map_err(db("reading pg_stat_statements"))`
pub(crate) fn db(context: &str) -> impl FnOnce(postgres::Error) -> QueriesError + '_ {
    move |source| QueriesError::Database {
        context: context.to_string(),
        source,
    }
}

pub type Result<T> = std::result::Result<T, QueriesError>;
