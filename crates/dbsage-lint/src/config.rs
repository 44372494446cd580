//! The `[lint]` table of `dbsage.toml`.
//!
//! Validation is separate from deserialisation so that a typo in a rule id is reported with the
//! list of valid ids instead of being silently ignored (a misspelled `off` would otherwise keep
//! failing CI with no hint why).

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::finding::Severity;

/// Configuration of the linter, deserialised from `[lint]` in `dbsage.toml`.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LintConfig {
    /// Per-rule severity overrides: `rules = { "missing-table-comment" = "off" }`.
    pub rules: BTreeMap<String, RuleLevel>,
    /// Schemas reachable by API clients (PostgREST/Supabase); RLS rules apply there.
    pub exposed_schemas: Vec<String>,
    /// Columns every new table must have (`missing-timestamps`).
    pub timestamp_columns: Vec<String>,
    /// Other sets of columns accepted instead of `timestamp_columns` (`missing-timestamps`):
    /// `[["createdAt", "updatedAt"], ["inserted_at", "updated_at"]]`.
    pub timestamp_pairs: Vec<Vec<String>>,
    /// Roles treated as untrusted clients by the policy and grant rules.
    pub client_roles: Vec<String>,
    /// Lint files on this many threads (0 = one per core, at most 2 by default).
    pub threads: usize,
    /// Files larger than this (bytes) are checked a chunk of statements at a time, in two
    /// passes, because parse trees take about 100× the text (not read from `dbsage.toml`).
    #[serde(skip)]
    pub chunked_above_bytes: usize,
    /// Top-level statements per chunk of such a file.
    #[serde(skip)]
    pub chunk_statements: usize,
    /// The PostgreSQL major version the migrations will run on (`requires-newer-postgres` and
    /// the rules whose verdict depends on it). `None`: the newest the parser knows, no version
    /// findings. Filled by the caller from `[local] pg_version` and friends, not from `[lint]`.
    #[serde(skip)]
    pub target_major: Option<u32>,
}

impl Default for LintConfig {
    fn default() -> Self {
        LintConfig {
            rules: BTreeMap::new(),
            exposed_schemas: vec!["public".into()],
            timestamp_columns: vec!["created_at".into(), "updated_at".into()],
            // What ORMs with camelCase columns (Prisma, Sequelize, TypeORM) generate.
            timestamp_pairs: vec![vec!["createdAt".into(), "updatedAt".into()]],
            client_roles: vec!["anon".into(), "authenticated".into(), "public".into()],
            threads: 0,
            chunked_above_bytes: 1_000_000,
            chunk_statements: 2_000,
            target_major: None,
        }
    }
}

/// The rules about row-level security and what an API exposes: off by default on a project that
/// exposes no schema (plain PostgreSQL), where they would flag every table.
pub const API_EXPOSURE_RULES: &[&str] = &[
    "rls-not-enabled",
    "rls-enabled-no-policy",
    "security-definer-view",
    "grant-all-to-anon",
];

/// A severity override: `error`, `warning` or `off`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RuleLevel {
    Error,
    Warning,
    Off,
}

/// The `[lint]` configuration is invalid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error(
        "[lint] rules: unknown rule id `{id}` (run `dbsage lint --explain` with one of: {known})"
    )]
    UnknownRule { id: String, known: String },
}

impl LintConfig {
    /// Checks that every configured rule id exists.
    pub fn validate(&self) -> Result<(), ConfigError> {
        for id in self.rules.keys() {
            if crate::rules::find(id).is_none() {
                let known = crate::rules::ALL
                    .iter()
                    .map(|r| r.id)
                    .collect::<Vec<_>>()
                    .join(", ");
                return Err(ConfigError::UnknownRule {
                    id: id.clone(),
                    known,
                });
            }
        }
        Ok(())
    }

    /// The effective severity of a rule, or `None` when it is turned off.
    pub fn severity_of(&self, id: &str, default: Severity) -> Option<Severity> {
        match self.rules.get(id) {
            None => Some(default),
            Some(RuleLevel::Error) => Some(Severity::Error),
            Some(RuleLevel::Warning) => Some(Severity::Warning),
            Some(RuleLevel::Off) => None,
        }
    }

    /// Uses `schemas` as the exposed schemas (the project's, when `[lint] exposed_schemas` is not
    /// set). With none, the [`API_EXPOSURE_RULES`] not configured in `rules` are turned off.
    pub fn with_exposed_schemas(mut self, schemas: Vec<String>) -> Self {
        if schemas.is_empty() {
            for id in API_EXPOSURE_RULES {
                self.rules.entry(id.to_string()).or_insert(RuleLevel::Off);
            }
        }
        self.exposed_schemas = schemas;
        self
    }

    pub(crate) fn is_exposed(&self, schema: &str) -> bool {
        self.exposed_schemas.iter().any(|s| s == schema)
    }

    pub(crate) fn is_client_role(&self, role: &str) -> bool {
        self.client_roles
            .iter()
            .any(|r| r.eq_ignore_ascii_case(role))
    }
}
