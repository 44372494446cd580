//! Renames are never guessed: a removed and an added object of the same shape are reported as
//! a possible rename, and planned as drop+add (which loses the data: the hazard says so).

use dbsage_catalog::{Catalog, Table};
use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PossibleRename {
    /// `table` or `column`.
    pub kind: String,
    pub from: String,
    pub to: String,
    /// The SQL to use instead of the drop+add, if it is a rename.
    pub rename_sql: String,
}

pub(crate) fn find(from: &Catalog, to: &Catalog) -> Vec<PossibleRename> {
    let mut found = Vec::new();
    let shape = |t: &Table| -> Vec<(String, String)> {
        t.columns
            .iter()
            .map(|c| (c.name.clone(), c.data_type.clone()))
            .collect()
    };
    let (old_tables, new_tables) = (
        crate::sql::tables_by_name(from),
        crate::sql::tables_by_name(to),
    );
    let removed: Vec<&Table> = from
        .tables
        .iter()
        .filter(|t| !new_tables.contains_key(&(t.schema.as_str(), t.name.as_str())))
        .collect();
    for added in to
        .tables
        .iter()
        .filter(|t| !old_tables.contains_key(&(t.schema.as_str(), t.name.as_str())))
    {
        for old in removed
            .iter()
            .filter(|old| old.schema == added.schema && shape(old) == shape(added))
        {
            found.push(PossibleRename {
                kind: "table".into(),
                from: format!("{}.{}", old.schema, old.name),
                to: format!("{}.{}", added.schema, added.name),
                rename_sql: format!(
                    "ALTER TABLE {} RENAME TO {};",
                    crate::sql::qualified(&old.schema, &old.name),
                    crate::sql::ident(&added.name)
                ),
            });
        }
    }
    for new_table in &to.tables {
        let Some(old_table) = old_tables.get(&(new_table.schema.as_str(), new_table.name.as_str()))
        else {
            continue;
        };
        let has = |t: &Table, name: &str| t.columns.iter().any(|c| c.name == name);
        for added in new_table
            .columns
            .iter()
            .filter(|c| !has(old_table, &c.name))
        {
            for old in old_table
                .columns
                .iter()
                .filter(|c| !has(new_table, &c.name) && c.data_type == added.data_type)
            {
                found.push(PossibleRename {
                    kind: "column".into(),
                    from: format!("{}.{}.{}", old_table.schema, old_table.name, old.name),
                    to: format!("{}.{}.{}", new_table.schema, new_table.name, added.name),
                    rename_sql: format!(
                        "ALTER TABLE {} RENAME COLUMN {} TO {};",
                        crate::sql::qualified(&new_table.schema, &new_table.name),
                        crate::sql::ident(&old.name),
                        crate::sql::ident(&added.name)
                    ),
                });
            }
        }
    }
    found
}
