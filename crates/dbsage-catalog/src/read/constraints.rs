//! Table constraints (primary key, unique, foreign key, check, exclusion), in one query.

use postgres::{Error, GenericClient};

use super::column_names::ColumnNames;
use super::index_definition::DefinitionWriter;
use super::sql::{comment_join, KEPT_RELATIONS};
use crate::model::{Constraint, ConstraintKind, ForeignKey, ForeignKeyAction};

/// Reads the constraints of the tables `tables` as `(table oid, constraint)`; `names` holds
/// the columns of those tables.
///
/// Left out: NOT NULL (a column property here), constraint triggers, and the clones
/// PostgreSQL adds on the referencing table for each partition of a referenced partitioned
/// table (same name and table as their parent, so they would only duplicate it).
pub(super) fn read(
    client: &mut impl GenericClient,
    tables: &[u32],
    names: &ColumnNames,
    writer: &DefinitionWriter,
) -> Result<Vec<(u32, Constraint)>, Error> {
    // The constrained columns are named here from their numbers (`keys`); a foreign key's
    // referenced table may be one that is not read (another schema), so its columns are
    // named by the server.
    let sql = format!(
        "SELECT con.conrelid, con.conname::text AS name, con.contype::text AS kind, \
                CASE WHEN NOT {plain} THEN pg_get_constraintdef(con.oid, true) END AS definition, \
                {plain} AS plain, \
                con.condeferrable, con.condeferred, con.convalidated, \
                con.conkey AS keys, \
                CASE WHEN con.contype = 'f' THEN \
                    (SELECT fn.nspname::text FROM pg_class fc JOIN pg_namespace fn ON fn.oid = fc.relnamespace \
                      WHERE fc.oid = con.confrelid) \
                END AS referenced_schema, \
                CASE WHEN con.contype = 'f' THEN \
                    (SELECT fc.relname::text FROM pg_class fc WHERE fc.oid = con.confrelid) \
                END AS referenced_table, \
                CASE WHEN con.contype = 'f' THEN {referenced_columns} END AS referenced_columns, \
                con.confdeltype::text AS on_delete, con.confupdtype::text AS on_update, \
                d.description AS comment \
         FROM pg_constraint con \
         LEFT JOIN pg_index ci ON ci.indexrelid = con.conindid \
         {comment} \
         WHERE con.conrelid = ANY({KEPT_RELATIONS}) AND con.contype IN ('p', 'u', 'f', 'c', 'x') \
           AND NOT EXISTS (SELECT 1 FROM pg_constraint parent \
                           WHERE parent.oid = con.conparentid AND parent.conrelid = con.conrelid)",
        referenced_columns = column_names("con.confrelid", "con.confkey"),
        comment = comment_join("d", "pg_constraint", "con.oid", "0"),
        plain = writer.plain_key_constraint_sql(),
    );
    let rows = super::query_for(client, &sql, tables)?;
    let mut constraints = Vec::with_capacity(rows.len());
    for row in &rows {
        let Some(kind) = ConstraintKind::from_code(row.try_get("kind")?) else {
            continue;
        };
        let foreign_key = if kind == ConstraintKind::ForeignKey {
            Some(ForeignKey {
                referenced_schema: row.try_get("referenced_schema")?,
                referenced_table: row.try_get("referenced_table")?,
                referenced_columns: row.try_get("referenced_columns")?,
                on_delete: ForeignKeyAction::from_code(row.try_get("on_delete")?),
                on_update: ForeignKeyAction::from_code(row.try_get("on_update")?),
            })
        } else {
            None
        };
        let table: u32 = row.try_get("conrelid")?;
        let keys: Option<Vec<i16>> = row.try_get("keys")?;
        let columns = names.distinct(client, table, keys.as_deref().unwrap_or_default())?;
        let deferrable: bool = row.try_get("condeferrable")?;
        let initially_deferred: bool = row.try_get("condeferred")?;
        let validated: bool = row.try_get("convalidated")?;
        // A plain primary key or unique constraint is written here (`index_definition`).
        let definition = if row.try_get("plain")? {
            writer.key_constraint(
                kind == ConstraintKind::PrimaryKey,
                &columns,
                deferrable,
                initially_deferred,
                validated,
            )
        } else {
            row.try_get("definition")?
        };
        let constraint = Constraint {
            name: row.try_get("name")?,
            kind,
            definition,
            columns,
            deferrable,
            initially_deferred,
            validated,
            foreign_key,
            comment: row.try_get("comment")?,
        };
        constraints.push((table, constraint));
    }
    Ok(constraints)
}

/// An expression giving the names of the columns numbered `numbers` (an `int2[]`) of
/// relation `relation`, in the array's order.
fn column_names(relation: &str, numbers: &str) -> String {
    format!(
        "ARRAY(SELECT a.attname::text FROM pg_attribute a \
               WHERE a.attrelid = {relation} AND a.attnum = ANY({numbers}) \
               ORDER BY array_position({numbers}, a.attnum))"
    )
}
