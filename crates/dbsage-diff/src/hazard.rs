//! What applying a statement may cost or break.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Hazard {
    /// Rows or values are lost (a dropped table, column, enum value).
    DeletesData,
    /// PostgreSQL rewrites the whole table (most column type changes).
    RewritesTable,
    /// Takes an ACCESS EXCLUSIVE lock for longer than a catalog update: reads and writes wait.
    AccessExclusiveLock,
    /// Builds an index (CPU, I/O; blocks writes unless CONCURRENTLY).
    BuildsIndex,
    /// Changes who may do what (grants, policies, RLS flags, default privileges).
    ChangesPrivileges,
    /// Cannot be undone from the schema alone.
    NotReversible,
    /// Holds a placeholder where a credential goes (a user mapping's options): the catalog
    /// never holds the value; put the real one in before running the statement.
    NeedsSecret,
}

impl Hazard {
    /// `deletes-data`, `rewrites-table`, ...
    pub fn as_str(self) -> &'static str {
        match self {
            Hazard::DeletesData => "deletes-data",
            Hazard::RewritesTable => "rewrites-table",
            Hazard::AccessExclusiveLock => "access-exclusive-lock",
            Hazard::BuildsIndex => "builds-index",
            Hazard::ChangesPrivileges => "changes-privileges",
            Hazard::NotReversible => "not-reversible",
            Hazard::NeedsSecret => "needs-secret",
        }
    }
}
