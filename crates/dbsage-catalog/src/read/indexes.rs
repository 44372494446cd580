//! Indexes of the kept tables, partitioned tables and materialized views, in one query.

use postgres::{Error, GenericClient};

use super::sql::comment_of;
use crate::model::Index;

/// Reads the indexes of the relations `relations` as `(relation oid, index)`.
pub(super) fn read(
    client: &mut impl GenericClient,
    relations: &[u32],
) -> Result<Vec<(u32, Index)>, Error> {
    // Plain key columns are named from pg_attribute; only expressions need the (slower)
    // per-column pg_get_indexdef.
    let sql = format!(
        "SELECT i.indrelid, ic.relname::text AS name, pg_get_indexdef(i.indexrelid) AS definition, \
                (SELECT am.amname::text FROM pg_am am WHERE am.oid = ic.relam) AS method, \
                i.indisunique, i.indisprimary, i.indisvalid, \
                ARRAY(SELECT CASE WHEN k.attnum = 0 THEN pg_get_indexdef(i.indexrelid, k.position::int, true) \
                                  ELSE (SELECT a.attname::text FROM pg_attribute a \
                                         WHERE a.attrelid = i.indrelid AND a.attnum = k.attnum) END \
                        FROM unnest(i.indkey::int2[]) WITH ORDINALITY k(attnum, position) \
                       WHERE k.position <= i.indnkeyatts ORDER BY k.position) AS columns, \
                ARRAY(SELECT a.attname::text \
                        FROM unnest(i.indkey::int2[]) WITH ORDINALITY k(attnum, position) \
                        JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum \
                       WHERE k.position > i.indnkeyatts ORDER BY k.position) AS include_columns, \
                pg_get_expr(i.indpred, i.indrelid, true) AS predicate, \
                {comment} AS comment \
         FROM pg_index i \
         JOIN pg_class ic ON ic.oid = i.indexrelid \
         WHERE i.indrelid = ANY($1::oid[])",
        comment = comment_of("pg_class", "i.indexrelid", "0"),
    );
    let rows = super::query_for(client, &sql, relations)?;
    rows.iter()
        .map(|row| {
            let index = Index {
                name: row.try_get("name")?,
                definition: row.try_get("definition")?,
                method: row.try_get("method")?,
                unique: row.try_get("indisunique")?,
                primary: row.try_get("indisprimary")?,
                valid: row.try_get("indisvalid")?,
                columns: row.try_get("columns")?,
                include_columns: row.try_get("include_columns")?,
                predicate: row.try_get("predicate")?,
                comment: row.try_get("comment")?,
            };
            Ok((row.try_get("indrelid")?, index))
        })
        .collect()
}
