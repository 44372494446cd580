//! The crate's one error type: a database failure with what dbsage was doing, or a bad
//! configuration (a retention rule) the user must fix.

#[derive(Debug, thiserror::Error)]
pub enum TuneError {
    #[error("{context}: {}", dbsage_pgerror::describe(source))]
    Database {
        context: String,
        #[source]
        source: postgres::Error,
    },
    /// Something in `dbsage.toml` or on the command line the user must fix.
    #[error("{0}")]
    BadInput(String),
}

impl TuneError {
    /// 2 for bad input, 1 for a database failure.
    pub fn exit_code(&self) -> i32 {
        match self {
            TuneError::BadInput(_) => 2,
            TuneError::Database { .. } => 1,
        }
    }

    pub(crate) fn db(context: impl Into<String>) -> impl FnOnce(postgres::Error) -> TuneError {
        let context = context.into();
        move |source| TuneError::Database { context, source }
    }
}
