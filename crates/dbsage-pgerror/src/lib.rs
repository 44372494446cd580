//! What PostgreSQL said, in words. The `postgres` driver displays every server error as
//! "db error" and every connection failure as "error connecting to server", keeping what
//! matters (the SQLSTATE, message, detail and hint, or the I/O error underneath) in fields and
//! in the source chain. Every dbsage crate renders driver errors through this one crate, so no
//! message reads "db error".

use std::error::Error as StdError;

use postgres::error::DbError;

/// The server's side of an error: `None` for client-side failures (I/O, TLS, closed
/// connection).
pub fn server_error(e: &postgres::Error) -> Option<&DbError> {
    e.as_db_error()
}

/// One line: `message [SQLSTATE code]` for a server error, else the driver's words followed by
/// every cause (`error connecting to server: Connection refused (os error 111)`).
pub fn headline(e: &postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => format!("{} [SQLSTATE {}]", db.message(), db.code().code()),
        None => cause_chain(e),
    }
}

/// [`headline`] plus the server's detail and hint, on one line: for messages that cannot carry
/// separate fields.
pub fn describe(e: &postgres::Error) -> String {
    let mut text = headline(e);
    if let Some(db) = e.as_db_error() {
        if let Some(detail) = db.detail() {
            text.push_str(&format!("; detail: {detail}"));
        }
        if let Some(hint) = db.hint() {
            text.push_str(&format!("; server hint: {hint}"));
        }
    }
    text
}

/// The error's text and its causes joined with `: `, skipping a cause whose text is already
/// included.
pub fn cause_chain(e: &(dyn StdError + 'static)) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        let words = cause.to_string();
        if !words.is_empty() && !text.contains(&words) {
            text.push_str(": ");
            text.push_str(&words);
        }
        source = cause.source();
    }
    text
}

/// The first I/O error in the chain, to tell a refused connection from a timeout.
pub fn io_cause<'a>(e: &'a (dyn StdError + 'static)) -> Option<&'a std::io::Error> {
    let mut source = e.source();
    while let Some(cause) = source {
        if let Some(io) = cause.downcast_ref::<std::io::Error>() {
            return Some(io);
        }
        source = cause.source();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chains_causes_without_repeating_them() {
        #[derive(Debug)]
        struct Outer(std::io::Error);
        impl std::fmt::Display for Outer {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("error connecting to server")
            }
        }
        impl StdError for Outer {
            fn source(&self) -> Option<&(dyn StdError + 'static)> {
                Some(&self.0)
            }
        }
        let e = Outer(std::io::Error::new(
            std::io::ErrorKind::ConnectionRefused,
            "Connection refused",
        ));
        assert_eq!(
            cause_chain(&e),
            "error connecting to server: Connection refused"
        );
        assert_eq!(
            io_cause(&e).map(|io| io.kind()),
            Some(std::io::ErrorKind::ConnectionRefused)
        );
    }
}
