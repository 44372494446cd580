//! Indexes of the kept tables, partitioned tables and materialized views, in one query.

use postgres::{Error, GenericClient};

use super::column_names::ColumnNames;
use super::sql::{comment_join, KEPT_RELATIONS};
use crate::model::Index;

/// Reads the indexes of the relations `relations` as `(relation oid, index)`; `names` holds
/// the columns of those relations.
pub(super) fn read(
    client: &mut impl GenericClient,
    relations: &[u32],
    names: &ColumnNames,
) -> Result<Vec<(u32, Index)>, Error> {
    // Plain columns are named here from their numbers (`keys`); only expressions need the
    // (slower) per-column pg_get_indexdef, asked for indexes that have some.
    let sql = format!(
        "SELECT i.indrelid, ic.relname::text AS name, pg_get_indexdef(i.indexrelid) AS definition, \
                am.amname::text AS method, i.indisunique, i.indisprimary, i.indisvalid, \
                i.indkey::int2[] AS keys, i.indnkeyatts, \
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
         {comment} \
         WHERE i.indrelid = ANY({KEPT_RELATIONS})",
        comment = comment_join("d", "pg_class", "i.indexrelid", "0"),
    );
    let rows = super::query_for(client, &sql, relations)?;
    let mut indexes = Vec::with_capacity(rows.len());
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
        let index = Index {
            name: row.try_get("name")?,
            definition: row.try_get("definition")?,
            method: row.try_get("method")?,
            unique: row.try_get("indisunique")?,
            primary: row.try_get("indisprimary")?,
            valid: row.try_get("indisvalid")?,
            columns,
            include_columns,
            predicate: row.try_get("predicate")?,
            comment: row.try_get("comment")?,
        };
        indexes.push((relation, index));
    }
    Ok(indexes)
}
