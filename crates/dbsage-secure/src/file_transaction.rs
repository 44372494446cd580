//! A test file's own transaction control, kept inside the transaction dbsage rolls back.
//!
//! Savepoints rather than refusing: pgTAP files nearly always read `BEGIN; … ROLLBACK;`, and a
//! file that COMMITs its fixtures expects its later statements to see them. Running BEGIN as a
//! savepoint, COMMIT as releasing it and ROLLBACK as rolling back to it keeps what the file sees
//! exactly as under psql, while nothing outlives dbsage's own transaction. Only two-phase commit
//! is refused: PREPARE TRANSACTION hands the work to the server to commit later.

use dbsage_sql::pg_query::protobuf::{TransactionStmt, TransactionStmtKind as Kind};

const SAVEPOINT: &str = "dbsage_file_transaction";

/// What to send for one transaction-control statement of a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Control {
    /// The statement as written (the file's own SAVEPOINT, RELEASE, ROLLBACK TO).
    AsWritten,
    /// This SQL instead; empty when there is nothing to do (COMMIT with no BEGIN, as psql
    /// would only warn).
    Instead(String),
    /// Cannot be contained; the message says why.
    Refused(String),
}

/// Whether the file has a transaction of its own open (a savepoint in ours).
#[derive(Debug, Default)]
pub(crate) struct FileTransaction {
    open: bool,
}

impl FileTransaction {
    pub(crate) fn translate(&mut self, stmt: &TransactionStmt) -> Control {
        let begin = format!("savepoint {SAVEPOINT}");
        let release = format!("release savepoint {SAVEPOINT}");
        let undo = format!("rollback to savepoint {SAVEPOINT}");
        match stmt.kind() {
            Kind::TransStmtBegin | Kind::TransStmtStart if self.open => {
                Control::Instead(String::new())
            }
            Kind::TransStmtBegin | Kind::TransStmtStart => {
                self.open = true;
                Control::Instead(begin)
            }
            Kind::TransStmtCommit | Kind::TransStmtRollback if !self.open => {
                Control::Instead(String::new())
            }
            Kind::TransStmtCommit if stmt.chain => Control::Instead(format!("{release}; {begin}")),
            Kind::TransStmtCommit => {
                self.open = false;
                Control::Instead(release)
            }
            Kind::TransStmtRollback if stmt.chain => Control::Instead(undo),
            Kind::TransStmtRollback => {
                self.open = false;
                Control::Instead(format!("{undo}; {release}"))
            }
            Kind::TransStmtPrepare | Kind::TransStmtCommitPrepared | Kind::TransStmtRollbackPrepared => {
                Control::Refused(
                    "two-phase commit (PREPARE TRANSACTION, COMMIT/ROLLBACK PREPARED) is not allowed: dbsage runs each test file in a transaction it rolls back".into(),
                )
            }
            Kind::TransStmtSavepoint
            | Kind::TransStmtRelease
            | Kind::TransStmtRollbackTo
            | Kind::Undefined => Control::AsWritten,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn controls(sql: &str) -> Vec<Control> {
        let mut tx = FileTransaction::default();
        dbsage_sql::parse(sql)
            .unwrap()
            .statements
            .iter()
            .filter_map(|s| match &s.node {
                dbsage_sql::NodeEnum::TransactionStmt(t) => Some(tx.translate(t)),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn begin_commit_rollback_become_savepoints() {
        let c = controls("begin; select 1; commit; commit; start transaction; savepoint a; rollback to a; rollback; prepare transaction 'x';");
        assert_eq!(c[0], Control::Instead(format!("savepoint {SAVEPOINT}")));
        assert_eq!(
            c[1],
            Control::Instead(format!("release savepoint {SAVEPOINT}"))
        );
        assert_eq!(c[2], Control::Instead(String::new()));
        assert_eq!(c[3], Control::Instead(format!("savepoint {SAVEPOINT}")));
        assert_eq!(c[4], Control::AsWritten);
        assert_eq!(c[5], Control::AsWritten);
        assert_eq!(
            c[6],
            Control::Instead(format!(
                "rollback to savepoint {SAVEPOINT}; release savepoint {SAVEPOINT}"
            ))
        );
        assert!(matches!(c[7], Control::Refused(_)));
    }
}
