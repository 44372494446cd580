//! Objects of the database rather than of a schema: publications, event triggers, casts,
//! foreign servers and their user mappings.

use serde::{Deserialize, Serialize};

/// A logical replication publication.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Publication {
    pub name: String,
    pub owner: String,
    /// `FOR ALL TABLES`.
    pub all_tables: bool,
    /// What it publishes, in `publish = '...'` order: `insert`, `update`, `delete`, `truncate`.
    pub publish: Vec<String>,
    /// `publish_via_partition_root`.
    pub via_root: bool,
    /// Its tables, sorted by `schema.table`.
    pub tables: Vec<PublishedTable>,
    /// `FOR TABLES IN SCHEMA` schemas (PostgreSQL 15+), sorted.
    pub schemas: Vec<String>,
    pub comment: Option<String>,
}

/// A table of a publication.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublishedTable {
    pub schema: String,
    pub name: String,
    /// The published columns, when a column list limits them (PostgreSQL 15+).
    pub columns: Vec<String>,
    /// The row filter (`WHERE (...)`, PostgreSQL 15+).
    pub row_filter: Option<String>,
}

/// An event trigger (`CREATE EVENT TRIGGER`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventTrigger {
    pub name: String,
    /// `ddl_command_start`, `ddl_command_end`, `sql_drop`, `table_rewrite`, `login`.
    pub event: String,
    /// `WHEN TAG IN (...)`, sorted; empty for every command.
    pub tags: Vec<String>,
    /// The function it runs, `schema.name` (quoted where needed).
    pub function: String,
    /// `O` (origin, the default), `D` (disabled), `R` (replica), `A` (always).
    pub enabled: String,
    pub owner: String,
    pub comment: Option<String>,
}

/// A cast created by `CREATE CAST` (built-in and extension casts are left out).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cast {
    /// Types as `format_type` spells them.
    pub source: String,
    pub target: String,
    /// `WITH FUNCTION schema.f(types)`; `None` for `WITHOUT FUNCTION` and `WITH INOUT`.
    pub function: Option<String>,
    /// `function`, `binary` (WITHOUT FUNCTION) or `inout`.
    pub method: String,
    /// `explicit`, `assignment` or `implicit`.
    pub context: String,
    pub comment: Option<String>,
}

impl Cast {
    /// `cast (text as public.email)`.
    pub fn key(&self) -> String {
        format!("cast ({} as {})", self.source, self.target)
    }
}

/// A foreign server and the user mappings for it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ForeignServer {
    pub name: String,
    /// The foreign-data wrapper (`postgres_fdw`, ...).
    pub wrapper: String,
    pub server_type: Option<String>,
    pub version: Option<String>,
    /// `name=value`, as stored (`host=db.internal`); server options are not secrets.
    pub options: Vec<String>,
    pub owner: String,
    /// Sorted by user.
    pub user_mappings: Vec<UserMapping>,
    pub comment: Option<String>,
}

/// `CREATE USER MAPPING FOR user SERVER server OPTIONS (...)`. Its options hold credentials:
/// the model keeps their names and a fingerprint of each value, never the value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserMapping {
    /// The role, or `public` for `FOR PUBLIC`.
    pub user: String,
    /// Sorted by name.
    pub options: Vec<SecretOption>,
}

/// An option whose value is a secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecretOption {
    pub name: String,
    /// A keyed hash of the value, with a key drawn once per process: two catalogs read by the
    /// same process compare equal when the values are, and the fingerprint means nothing
    /// anywhere else (it cannot be checked against guesses without the key).
    pub fingerprint: u64,
}

/// The fingerprint of a secret value, for [`SecretOption::fingerprint`].
pub fn secret_fingerprint(value: &str) -> u64 {
    use std::hash::BuildHasher;
    static KEY: std::sync::OnceLock<std::hash::RandomState> = std::sync::OnceLock::new();
    KEY.get_or_init(std::hash::RandomState::new).hash_one(value)
}
