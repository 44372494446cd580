//! The red flags: one file per flag (id, doc with why/bad/good/fix, the check, its tests).
//! A flag asks "is this growth needed?"; it never says the SQL is wrong.

use dbsage_catalog::Catalog;
use serde_json::Value;

use crate::change::Change;

mod later_columns;
mod many_new_columns;
mod many_new_tables;
mod overlapping_table;
mod repeated_column_group;
mod tracking_name;
mod wide_nullable_table;

pub use overlapping_table::overlap_with;

/// What a flag's check sees.
pub struct Context<'a> {
    /// The schema before the change.
    pub before: &'a Catalog,
    /// The schema after the change.
    pub after: &'a Catalog,
    pub change: &'a Change,
}

/// A flag raised on an object of the change.
#[derive(Debug, Clone)]
pub struct Raised {
    /// The object keys (`table public.t`, `column public.t.c`) that locate it in the files: the
    /// first written wins.
    pub keys: Vec<String>,
    /// As shown: `table public.t`.
    pub object: String,
    pub message: String,
    pub evidence: Value,
    pub fix_sql: Option<String>,
}

/// A flag's documentation, printed by `dbsage review --explain ID`.
pub struct Doc {
    pub id: &'static str,
    pub summary: &'static str,
    pub why: &'static str,
    pub bad: &'static str,
    pub good: &'static str,
    pub fix: &'static str,
}

impl Doc {
    pub fn render(&self) -> String {
        format!(
            "{}: {}\n\nWhy: {}\n\nBad:\n{}\n\nGood:\n{}\n\nFix: {}\n",
            self.id, self.summary, self.why, self.bad, self.good, self.fix
        )
    }
}

pub struct Check {
    pub doc: Doc,
    pub run: fn(&Context) -> Vec<Raised>,
}

/// Every red flag, in report order.
pub const ALL: &[&Check] = &[
    &many_new_tables::CHECK,
    &many_new_columns::CHECK,
    &tracking_name::CHECK,
    &later_columns::CHECK,
    &overlapping_table::CHECK,
    &repeated_column_group::CHECK,
    &wide_nullable_table::CHECK,
];

/// The flag `id`'s documentation.
pub fn doc(id: &str) -> Option<&'static Doc> {
    ALL.iter().map(|c| &c.doc).find(|d| d.id == id)
}

/// The last part of `schema.name`.
pub(crate) fn bare(qualified: &str) -> &str {
    qualified.rsplit_once('.').map_or(qualified, |(_, n)| n)
}

#[cfg(test)]
pub(crate) mod testing {
    //! Small catalogs for the flags' unit tests.
    use dbsage_catalog::{Catalog, Column, Constraint, ConstraintKind, Table, TableKind};

    use crate::change::Change;

    /// A table `public.NAME` with `(name, type, not_null)` columns; `id` is its primary key.
    pub fn table(name: &str, columns: &[(&str, &str, bool)]) -> Table {
        Table {
            schema: "public".into(),
            name: name.into(),
            kind: TableKind::Table,
            owner: "postgres".into(),
            unlogged: false,
            columns: columns
                .iter()
                .map(|(n, t, nn)| Column {
                    name: (*n).into(),
                    data_type: (*t).into(),
                    not_null: *nn,
                    default: None,
                    identity: None,
                    generated: None,
                    collation: None,
                    grants: vec![],
                    comment: None,
                })
                .collect(),
            constraints: if columns.iter().any(|c| c.0 == "id") {
                vec![Constraint {
                    name: format!("{name}_pkey"),
                    kind: ConstraintKind::PrimaryKey,
                    definition: "PRIMARY KEY (id)".into(),
                    columns: vec!["id".into()],
                    deferrable: false,
                    initially_deferred: false,
                    validated: true,
                    foreign_key: None,
                    comment: None,
                }]
            } else {
                vec![]
            },
            indexes: vec![],
            rls_enabled: false,
            rls_forced: false,
            policies: vec![],
            triggers: vec![],
            grants: vec![],
            comment: None,
            partition_key: None,
            partition_of: None,
            partition_bound: None,
            estimated_rows: None,
        }
    }

    pub fn catalog(tables: Vec<Table>) -> Catalog {
        Catalog {
            tables,
            ..Default::default()
        }
    }

    /// The flags `check` raises when `added` tables join `existing` ones.
    pub fn raised(
        check: &super::Check,
        existing: Vec<Table>,
        added: Vec<Table>,
    ) -> Vec<super::Raised> {
        let before = catalog(existing.clone());
        let mut all = existing;
        all.extend(added);
        all.sort_by(|a, b| a.name.cmp(&b.name));
        let after = catalog(all);
        let change = Change::between(&before, &after);
        (check.run)(&super::Context {
            before: &before,
            after: &after,
            change: &change,
        })
    }

    /// The Supabase quick-start `profiles` table: the calibration every flag must stay silent on.
    pub fn supabase_profiles() -> Table {
        table(
            "profiles",
            &[
                ("id", "uuid", true),
                ("updated_at", "timestamp with time zone", false),
                ("username", "text", false),
                ("full_name", "text", false),
                ("avatar_url", "text", false),
                ("website", "text", false),
            ],
        )
    }
}
