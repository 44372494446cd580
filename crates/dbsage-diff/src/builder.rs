//! Statements collected by phase, then laid out in the one order that works: drops from the
//! most dependent object down, creations from the least dependent up.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::hazard::Hazard;
use crate::renames::PossibleRename;

/// How a plan is written.
#[derive(Debug, Clone)]
pub struct PlanOptions {
    /// The role that will run the migration: objects it creates are owned by it (no `OWNER
    /// TO` needed) and get its default privileges.
    pub creator: String,
}

impl Default for PlanOptions {
    fn default() -> Self {
        PlanOptions {
            creator: "postgres".to_string(),
        }
    }
}

/// One DDL statement of a plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Statement {
    /// Complete, with its semicolon.
    pub sql: String,
    /// The object it changes, as catalog keys name it: `table public.users`.
    pub object: String,
    pub hazards: Vec<Hazard>,
    /// False for statements that cannot run in a transaction block (CONCURRENTLY) or are
    /// safe forms meant to commit one by one (VALIDATE CONSTRAINT): the no-transaction part.
    pub transactional: bool,
}

/// The ordered statements that turn one schema into another.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Plan {
    pub statements: Vec<Statement>,
    /// Drop+add pairs of the same shape: planned as drop+add, reported for a person to decide.
    pub possible_renames: Vec<PossibleRename>,
}

impl Plan {
    /// True when the schemas are the same.
    pub fn is_empty(&self) -> bool {
        self.statements.iter().all(|s| s.object.is_empty())
    }

    /// The part that runs in one transaction.
    pub fn transactional_sql(&self) -> String {
        join(self.statements.iter().filter(|s| s.transactional))
    }

    /// The part that runs statement by statement, after the transactional part.
    pub fn no_transaction_sql(&self) -> String {
        join(self.statements.iter().filter(|s| !s.transactional))
    }

    /// Statements that change something (the prelude's settings left out).
    pub fn changes(&self) -> impl Iterator<Item = &Statement> {
        self.statements.iter().filter(|s| !s.object.is_empty())
    }
}

fn join<'a>(statements: impl Iterator<Item = &'a Statement>) -> String {
    let mut text = String::new();
    for statement in statements {
        if !statement.hazards.is_empty() {
            let names: Vec<&str> = statement.hazards.iter().map(|h| h.as_str()).collect();
            text.push_str(&format!("-- hazards: {}\n", names.join(", ")));
        }
        text.push_str(&statement.sql);
        text.push('\n');
    }
    text
}

/// Where a statement goes in the plan. Declaration order is plan order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Phase {
    Prelude,
    /// Publications, event triggers, casts and user mappings that go or are replaced.
    DropDatabaseObjects,
    DropPolicies,
    DropTriggers,
    DropViews,
    DropConstraints,
    DropRoutinesChanged,
    DropColumns,
    DropTables,
    /// After the foreign tables on them.
    DropServers,
    DropRoutines,
    DropTypes,
    DropExtensions,
    DropSchemas,
    CreateSchemas,
    CreateExtensions,
    /// Foreign servers and user mappings: after the wrappers' extensions, before foreign tables.
    CreateServers,
    DefaultPrivileges,
    CreateTypes,
    AlterTypes,
    CreateSequences,
    CreateRoutines,
    CreateTables,
    AlterColumns,
    /// After the defaults that used them changed.
    DropSequences,
    AddConstraints,
    AddForeignKeys,
    CreateIndexes,
    SequenceOwnership,
    CreateRoutinesLate,
    CreateViews,
    CreateTriggers,
    Rls,
    Policies,
    Owners,
    Grants,
    Comments,
    /// Publications (over the tables), event triggers (last, so they do not fire on the plan's
    /// own statements), casts (after their functions and types).
    DatabaseObjects,
    /// Runs after the transactional part, one statement at a time.
    NoTransaction,
}

pub(crate) struct Builder {
    pub creator: String,
    phases: BTreeMap<Phase, Vec<Statement>>,
    pub possible_renames: Vec<PossibleRename>,
}

impl Builder {
    pub fn new(options: &PlanOptions) -> Builder {
        Builder {
            creator: options.creator.clone(),
            phases: BTreeMap::new(),
            possible_renames: Vec::new(),
        }
    }

    pub fn prelude(&mut self) {
        // Function bodies may name tables created later in the plan (pg_dump does the same).
        self.phases
            .entry(Phase::Prelude)
            .or_default()
            .push(Statement {
                sql: "SET check_function_bodies = false;".into(),
                object: String::new(),
                hazards: Vec::new(),
                transactional: true,
            });
    }

    pub fn push(
        &mut self,
        phase: Phase,
        object: impl Into<String>,
        sql: String,
        hazards: &[Hazard],
    ) {
        let mut hazards = hazards.to_vec();
        hazards.sort();
        hazards.dedup();
        self.phases.entry(phase).or_default().push(Statement {
            sql: if sql.ends_with(';') {
                sql
            } else {
                format!("{sql};")
            },
            object: object.into(),
            hazards,
            transactional: phase != Phase::NoTransaction,
        });
    }

    /// Like [`Builder::push`], ahead of what the phase already holds.
    pub fn push_front(
        &mut self,
        phase: Phase,
        object: impl Into<String>,
        sql: String,
        hazards: &[Hazard],
    ) {
        self.push(phase, object, sql, hazards);
        let statements = self.phases.get_mut(&phase).expect("just pushed");
        let last = statements.pop().expect("just pushed");
        statements.insert(0, last);
    }

    pub fn finish(self) -> Plan {
        let mut statements: Vec<Statement> = self.phases.into_values().flatten().collect();
        if statements.iter().all(|s| s.object.is_empty()) {
            statements.clear();
        }
        Plan {
            statements,
            possible_renames: self.possible_renames,
        }
    }
}
