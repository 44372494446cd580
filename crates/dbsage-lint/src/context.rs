//! What a rule sees of one migration file, and how it reports.

use crate::ast::QualifiedName;
use crate::config::LintConfig;
use crate::facts::FileFacts;
use crate::model::{FileChanges, Model, Table};
use crate::parse::Unit;

/// One migration file, after the schema model has replayed it.
pub(crate) struct FileContext<'a> {
    pub text: &'a str,
    /// Statements in source order; a DO block is followed by the statements it runs.
    pub units: &'a [Unit],
    /// The schema as it is at the end of this file.
    pub model: &'a Model,
    /// What this file created or changed.
    pub changes: &'a FileChanges,
    /// What the file's other statements do, for rules judging one statement.
    pub facts: &'a FileFacts,
    pub config: &'a LintConfig,
    /// The header carries `-- dbsage:no-transaction`: dbsage does not wrap the file.
    pub no_transaction: bool,
    /// Byte spans acknowledged with `-- dbsage:destructive reason`.
    pub acknowledged: &'a [(usize, usize)],
}

impl FileContext<'_> {
    /// At `unit`, the table was already created by this file: it is empty and nobody else uses
    /// it yet, so locking and rewrite concerns do not apply. Before the file creates it, the
    /// name is the table that existed before (`drop table t; create table t …`).
    pub fn is_new_table(&self, name: &QualifiedName, unit: &Unit) -> bool {
        self.changes
            .new_tables
            .get(name)
            .is_some_and(|&created| created < unit.index)
    }

    /// At `unit`, the table existed before this file (or is unknown to the model, which we
    /// must assume is a real table with rows) and is not temporary.
    pub fn is_existing_table(&self, name: &QualifiedName, unit: &Unit) -> bool {
        !self.is_new_table(name, unit) && !self.model.table(name).is_some_and(|t| t.temporary)
    }

    /// At `unit`, the index was already created by this file.
    pub fn is_new_index(&self, name: &QualifiedName, unit: &Unit) -> bool {
        self.changes
            .new_indexes
            .get(name)
            .is_some_and(|&created| created < unit.index)
    }

    /// Tables this file created (not temporary, not materialized views), with their state at
    /// the end of the file.
    pub fn new_tables(&self) -> impl Iterator<Item = (&QualifiedName, &Table)> {
        let mut names: Vec<&QualifiedName> = self.changes.new_tables.keys().collect();
        names.sort();
        names
            .into_iter()
            .filter_map(|n| self.model.table(n).map(|t| (n, t)))
            .filter(|(_, t)| !t.temporary && !t.materialized_view)
    }

    /// The target server is PostgreSQL `major` or newer (no target: the newest, 18).
    pub fn targets_at_least(&self, major: u32) -> bool {
        self.config
            .target_major
            .is_none_or(|target| target >= major)
    }

    pub fn is_acknowledged(&self, unit: &Unit) -> bool {
        self.acknowledged
            .iter()
            .any(|&(start, end)| unit.offset >= start && unit.offset <= end)
    }
}

/// A rule's raw report; the engine adds the rule id, severity and line:column.
#[derive(Debug, Clone)]
pub(crate) struct Hit {
    pub offset: usize,
    pub len: usize,
    pub message: String,
    pub fix: String,
}

impl Hit {
    pub fn at(unit: &Unit, message: impl Into<String>, fix: impl Into<String>) -> Hit {
        Hit {
            offset: unit.offset,
            len: unit.len,
            message: message.into(),
            fix: fix.into(),
        }
    }

    pub fn span(
        offset: usize,
        len: usize,
        message: impl Into<String>,
        fix: impl Into<String>,
    ) -> Hit {
        Hit {
            offset,
            len,
            message: message.into(),
            fix: fix.into(),
        }
    }
}
