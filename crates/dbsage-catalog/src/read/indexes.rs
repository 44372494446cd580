//! Indexes of the kept tables, partitioned tables and materialized views, in one query.

use std::collections::HashMap;

use postgres::types::Type;
use postgres::{Error, GenericClient};

use super::column_names::ColumnNames;
use super::index_definition::{DefinitionWriter, IndexFacts, KeyColumn};
use super::sql::{comment_join, KEPT_RELATIONS};
use crate::model::Index;

/// Reads the indexes of the relations `relations` as `(relation oid, index)`; `names` holds
/// the names of those relations and their columns.
pub(super) fn read(
    client: &mut impl GenericClient,
    relations: &[u32],
    names: &ColumnNames,
    writer: &DefinitionWriter,
) -> Result<Vec<(u32, Index)>, Error> {
    // Plain columns are named here from their numbers (`keys`); only expressions need the
    // (slower) per-column pg_get_indexdef, asked for indexes that have some. The definition
    // of a plain index is written here too (`index_definition`): pg_get_indexdef is asked
    // only for the others.
    let sql = format!(
        "SELECT i.indexrelid, i.indrelid, ic.relname::text AS name, \
                CASE WHEN NOT plain.on_server THEN pg_get_indexdef(i.indexrelid) END AS definition, \
                plain.on_server AS plain, \
                am.amname::text AS method, i.indisunique, i.indisprimary, i.indisvalid, \
                i.indkey::int2[] AS keys, i.indnkeyatts, i.indclass::oid[] AS classes, \
                i.indcollation::oid[] AS collations, i.indoption::int2[] AS sort_options, \
                CASE WHEN i.indexprs IS NOT NULL THEN \
                    ARRAY(SELECT pg_get_indexdef(i.indexrelid, k.position::int, true) \
                            FROM unnest(i.indkey::int2[]) WITH ORDINALITY k(attnum, position) \
                           WHERE k.attnum = 0 AND k.position <= i.indnkeyatts ORDER BY k.position) \
                END AS expressions, \
                pg_get_expr(i.indpred, i.indrelid, true) AS predicate, \
                d.description AS comment \
         FROM pg_index i \
         JOIN pg_class ic ON ic.oid = i.indexrelid \
         JOIN pg_am am ON am.oid = ic.relam \
         CROSS JOIN LATERAL (SELECT {plain_on_server} AS on_server) plain \
         {comment} \
         WHERE i.indrelid = ANY({KEPT_RELATIONS})",
        plain_on_server = writer.plain_on_server_sql(),
        comment = comment_join("d", "pg_class", "i.indexrelid", "0"),
    );
    let rows = super::query_for(client, &sql, relations)?;
    let mut indexes = Vec::with_capacity(rows.len());
    // Indexes whose definition is still to be asked of the server, by OID.
    let mut unwritten: Vec<(u32, usize)> = Vec::new();
    for row in &rows {
        let relation: u32 = row.try_get("indrelid")?;
        let keys: Vec<i16> = row.try_get("keys")?;
        let key_count = usize::try_from(row.try_get::<_, i16>("indnkeyatts")?).unwrap_or(0);
        let mut expressions = row
            .try_get::<_, Option<Vec<String>>>("expressions")?
            .unwrap_or_default()
            .into_iter();
        let mut columns = Vec::with_capacity(key_count);
        let mut include_columns = Vec::new();
        for (position, &number) in keys.iter().enumerate() {
            if position < key_count {
                if number == 0 {
                    columns.extend(expressions.next());
                } else {
                    columns.extend(names.name(client, relation, number)?);
                }
            } else if number != 0 {
                include_columns.extend(names.name(client, relation, number)?);
            }
        }
        let name: String = row.try_get("name")?;
        let method: String = row.try_get("method")?;
        let unique: bool = row.try_get("indisunique")?;
        let definition = match row.try_get::<_, Option<String>>("definition")? {
            Some(definition) => Some(definition),
            None => {
                let classes: Vec<u32> = row.try_get("classes")?;
                let collations: Vec<u32> = row.try_get("collations")?;
                let sort_options: Vec<i16> = row.try_get("sort_options")?;
                let facts = IndexFacts {
                    name: &name,
                    method: &method,
                    unique,
                    plain_on_server: row.try_get("plain")?,
                    keys: &keys,
                    classes: &classes,
                    collations: &collations,
                    sort_options: &sort_options,
                };
                let key_columns: Vec<KeyColumn> = keys
                    .iter()
                    .filter_map(|&number| names.key_column(relation, number))
                    .collect();
                names
                    .relation(relation)
                    .and_then(|(schema, table)| writer.plain(&facts, schema, table, &key_columns))
            }
        };
        if definition.is_none() {
            unwritten.push((row.try_get("indexrelid")?, indexes.len()));
        }
        let index = Index {
            name,
            definition: definition.unwrap_or_default(),
            method,
            unique,
            primary: row.try_get("indisprimary")?,
            valid: row.try_get("indisvalid")?,
            columns,
            include_columns,
            predicate: row.try_get("predicate")?,
            comment: row.try_get("comment")?,
        };
        indexes.push((relation, index));
    }
    if !unwritten.is_empty() {
        let oids: Vec<u32> = unwritten.iter().map(|(oid, _)| *oid).collect();
        let definitions: HashMap<u32, String> = client
            .query_typed(
                "SELECT x.oid, pg_get_indexdef(x.oid) AS definition FROM unnest($1::oid[]) x(oid)",
                &[(&oids, Type::OID_ARRAY)],
            )?
            .iter()
            .map(|row| Ok((row.try_get("oid")?, row.try_get("definition")?)))
            .collect::<Result<_, Error>>()?;
        for (oid, at) in unwritten {
            if let Some(definition) = definitions.get(&oid) {
                indexes[at].1.definition = definition.clone();
            }
        }
    }
    Ok(indexes)
}
