//! What a change adds to the schema, from the object-level diff of the catalog before and after
//! the proposed files ran on the replayed database.

use std::collections::BTreeMap;

use dbsage_catalog::{Catalog, ConstraintKind, DiffKind, Table};
use serde::Serialize;

/// A table the change creates.
#[derive(Debug, Clone, Serialize)]
pub struct NewTable {
    /// `schema.name`.
    pub name: String,
    pub columns: Vec<NewColumn>,
}

/// A column the change creates (in a new table or an existing one).
#[derive(Debug, Clone, Serialize)]
pub struct NewColumn {
    pub name: String,
    pub data_type: String,
    pub not_null: bool,
    /// Part of the primary key, a foreign key, or `created_at`/`updated_at`/`deleted_at`:
    /// structure every table has, not surface the feature adds.
    pub bookkeeping: bool,
}

/// Everything the change adds, each list sorted by name.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Change {
    pub new_tables: Vec<NewTable>,
    /// Existing table `schema.name` → the columns added to it.
    pub new_columns: BTreeMap<String, Vec<NewColumn>>,
    /// `schema.index_name`.
    pub new_indexes: Vec<String>,
    /// `schema.table.policy_name`.
    pub new_policies: Vec<String>,
}

/// Column names every table may carry without adding surface.
const TIMESTAMP_BOOKKEEPING: &[&str] = &["created_at", "updated_at", "deleted_at", "inserted_at"];

impl Change {
    /// The change between `before` and `after`.
    pub fn between(before: &Catalog, after: &Catalog) -> Change {
        let mut change = Change::default();
        for difference in dbsage_catalog::diff(before, after) {
            if difference.kind != DiffKind::Added {
                continue;
            }
            let Some((kind, name)) = difference.object.split_once(' ') else {
                continue;
            };
            match kind {
                "table" => {
                    if let Some(table) = find_table(after, name) {
                        change.new_tables.push(NewTable {
                            name: name.to_string(),
                            columns: table.columns.iter().map(|c| new_column(table, c)).collect(),
                        });
                    }
                }
                "column" => {
                    let Some((table_name, column)) = name.rsplit_once('.') else {
                        continue;
                    };
                    if find_table(before, table_name).is_none() {
                        continue; // part of a new table
                    }
                    if let Some(table) = find_table(after, table_name) {
                        if let Some(c) = table.columns.iter().find(|c| c.name == column) {
                            change
                                .new_columns
                                .entry(table_name.to_string())
                                .or_default()
                                .push(new_column(table, c));
                        }
                    }
                }
                // The index behind a new primary key or unique constraint is that constraint.
                "index" if !backs_constraint(after, name) => {
                    change.new_indexes.push(name.to_string())
                }
                "policy" => change.new_policies.push(name.to_string()),
                _ => {}
            }
        }
        change
    }

    /// Every new column, in new tables and on existing ones, with its table.
    pub fn all_new_columns(&self) -> impl Iterator<Item = (&str, &NewColumn)> {
        self.new_tables
            .iter()
            .flat_map(|t| t.columns.iter().map(move |c| (t.name.as_str(), c)))
            .chain(
                self.new_columns
                    .iter()
                    .flat_map(|(t, cs)| cs.iter().map(move |c| (t.as_str(), c))),
            )
    }

    pub fn is_empty(&self) -> bool {
        self.new_tables.is_empty()
            && self.new_columns.is_empty()
            && self.new_indexes.is_empty()
            && self.new_policies.is_empty()
    }
}

/// The table `schema.name` of `catalog`.
pub fn find_table<'a>(catalog: &'a Catalog, qualified: &str) -> Option<&'a Table> {
    let (schema, name) = qualified.split_once('.')?;
    catalog.table(schema, name)
}

/// True for primary-key, foreign-key and timestamp bookkeeping columns of `table`.
pub fn is_bookkeeping(table: &Table, column: &str) -> bool {
    TIMESTAMP_BOOKKEEPING.contains(&column)
        || table.constraints.iter().any(|c| {
            matches!(
                c.kind,
                ConstraintKind::PrimaryKey | ConstraintKind::ForeignKey
            ) && c.columns.iter().any(|k| k == column)
        })
}

/// True when the index `schema.name` is the one a constraint of its table created.
fn backs_constraint(catalog: &Catalog, qualified: &str) -> bool {
    let Some((schema, name)) = qualified.split_once('.') else {
        return false;
    };
    catalog
        .tables
        .iter()
        .filter(|t| t.schema == schema)
        .any(|t| t.constraints.iter().any(|c| c.name == name))
}

fn new_column(table: &Table, column: &dbsage_catalog::Column) -> NewColumn {
    NewColumn {
        name: column.name.clone(),
        data_type: column.data_type.clone(),
        not_null: column.not_null,
        bookkeeping: is_bookkeeping(table, &column.name),
    }
}
