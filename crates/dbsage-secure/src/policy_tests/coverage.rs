//! `secure coverage`: for every table with row-level security, the matrix role × table ×
//! command, marking which combinations a grant and a policy allow and which a test exercises.
//! What a test exercises comes from PostgreSQL's plan of its SQL (after the file's setup, in a
//! rolled-back transaction), so views, joins and sub-selects count the tables they really
//! touch.

use std::collections::{BTreeMap, BTreeSet};

use dbsage_catalog::{Catalog, ReadOptions};
use serde::Serialize;

use super::file::TestFile;
use super::runner::{case_context, run_setup, validate};
use crate::error::{db_message, SecureError};
use crate::facts::{table_facts, touched_tables, COMMANDS};
use crate::impersonate::existing_roles;

/// One role × table × command combination.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CoverageCell {
    pub role: String,
    /// `schema.table`.
    pub table: String,
    /// `select`, `insert`, `update` or `delete`.
    pub command: String,
    /// The role holds the privilege (directly, through membership or PUBLIC).
    pub granted: bool,
    /// Permissive policies that apply to the role for the command.
    pub policies: Vec<String>,
    /// Row-level security is bypassed for this role (superuser, BYPASSRLS, owner).
    pub bypass: bool,
    /// A grant and a policy (or a bypass) let the role use the command on some rows.
    pub allowed: bool,
    /// Whether a test case runs as this role and touches the table with this command.
    pub tested: bool,
    /// The cases that do, as `file: case name`.
    pub tests: Vec<String>,
}

/// The whole matrix.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Coverage {
    pub roles: Vec<String>,
    /// Tables with row-level security enabled, as `schema.table`.
    pub tables: Vec<String>,
    pub cells: Vec<CoverageCell>,
    /// The cells no test exercises, as `role table command`.
    pub untested: Vec<String>,
    /// Cases whose SQL could not be planned (they are not counted), with the reason.
    pub unanalysed: Vec<String>,
}

impl Coverage {
    /// The cell for `role`, `table` (`schema.table`) and `command`.
    pub fn cell(&self, role: &str, table: &str, command: &str) -> Option<&CoverageCell> {
        self.cells
            .iter()
            .find(|c| c.role == role && c.table == table && c.command == command)
    }
}

/// Builds the coverage matrix; `roles` empty means those of [`crate::DEFAULT_ROLES`] that
/// exist (a plain PostgreSQL database has none of them: then the roles must be given).
/// Without test files every cell is untested.
pub fn coverage(
    client: &mut postgres::Client,
    files: &[TestFile],
    roles: &[String],
) -> Result<Coverage, SecureError> {
    let existing = existing_roles(client)?;
    let roles: Vec<String> = if roles.is_empty() {
        let defaults: Vec<String> = crate::DEFAULT_ROLES
            .iter()
            .filter(|r| existing.contains(**r))
            .map(|r| r.to_string())
            .collect();
        if defaults.is_empty() {
            return Err(SecureError::BadInput(format!(
                "secure coverage: none of the API roles ({}) exists in this database: name the roles your application connects as, e.g. --roles app_user,app_readonly",
                crate::DEFAULT_ROLES.join(", ")
            )));
        }
        defaults
    } else {
        roles.to_vec()
    };
    for role in &roles {
        if !existing.contains(role) {
            return Err(SecureError::UnknownRole {
                role: role.clone(),
                context: "secure coverage".into(),
            });
        }
    }
    validate(client, files)?;

    // (role, schema.table, command) -> cases exercising it.
    let mut exercised: BTreeMap<(String, String, String), Vec<String>> = BTreeMap::new();
    let mut unanalysed = Vec::new();
    for file in files {
        for case in &file.cases {
            let context = case_context(file, case);
            let mut tx = client
                .transaction()
                .map_err(SecureError::db(format!("{context}: begin")))?;
            let setup =
                run_setup(&mut tx, file).map_err(SecureError::db(format!("{context}: setup")))?;
            if setup.is_some() {
                unanalysed.push(format!("{context}: setup failed"));
                continue;
            }
            match touched_tables(&mut tx, &case.sql) {
                Ok(touched) => {
                    for t in touched {
                        exercised
                            .entry((
                                case.actor.role.clone(),
                                format!("{}.{}", t.schema, t.table),
                                t.command.to_string(),
                            ))
                            .or_default()
                            .push(format!("{}: {}", file.path.display(), case.name));
                    }
                }
                Err(e) => unanalysed.push(format!("{context}: {}", db_message(&e))),
            }
        }
    }

    let catalog = Catalog::read(client, &ReadOptions::default())
        .map_err(SecureError::db("reading the schema"))?;
    let tables: Vec<(String, String)> = catalog
        .tables
        .iter()
        .filter(|t| t.rls_enabled && t.partition_of.is_none())
        .map(|t| (t.schema.clone(), t.name.clone()))
        .collect();
    let mut cells = Vec::new();
    for (schema, name) in &tables {
        let table = format!("{schema}.{name}");
        for role in &roles {
            let facts = table_facts(client, schema, name, role)?;
            for command in COMMANDS {
                let policies: Vec<String> = facts
                    .permissive_for(command)
                    .map(|p| p.name.clone())
                    .collect();
                let granted = facts.granted(command) && facts.schema_usage;
                let tests = exercised
                    .get(&(role.clone(), table.clone(), command.to_string()))
                    .cloned()
                    .unwrap_or_default();
                let tests: Vec<String> = tests
                    .into_iter()
                    .collect::<BTreeSet<_>>()
                    .into_iter()
                    .collect();
                cells.push(CoverageCell {
                    role: role.clone(),
                    table: table.clone(),
                    command: command.to_string(),
                    granted,
                    allowed: granted && facts.allowed_by_policy(command),
                    bypass: facts.bypass,
                    policies,
                    tested: !tests.is_empty(),
                    tests,
                });
            }
        }
    }
    let untested = cells
        .iter()
        .filter(|c| !c.tested)
        .map(|c| format!("{} {} {}", c.role, c.table, c.command))
        .collect();
    Ok(Coverage {
        roles,
        tables: tables.iter().map(|(s, n)| format!("{s}.{n}")).collect(),
        cells,
        untested,
        unanalysed,
    })
}
