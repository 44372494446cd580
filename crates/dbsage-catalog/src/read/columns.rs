//! Columns of the kept tables, views and materialized views, in one query.

use postgres::{Error, GenericClient};

use super::acl::parse_acl;
use super::sql::{acl_items, comment_join, KEPT_RELATIONS};
use crate::model::{Column, Identity};

/// A column read, with where it belongs: its relation's OID and its number there (by which
/// indexes and constraints name their columns).
pub(super) struct ReadColumn {
    pub relation: u32,
    pub attnum: i16,
    /// `atttypid` and `attcollation`, which decide how an index on the column is written.
    pub type_oid: u32,
    pub collation_oid: u32,
    pub column: Column,
}

/// Reads the columns of the relations `relations`, in `attnum` order within each relation.
pub(super) fn read(
    client: &mut impl GenericClient,
    relations: &[u32],
) -> Result<Vec<ReadColumn>, Error> {
    // The default is a subquery asked only of columns that have one (`atthasdef`): a join
    // hashed every column read. A default cannot refer to columns, so it is deparsed without
    // its table (relid 0), which spares opening the table; a generation expression can, and
    // is deparsed with it. The server does not sort: the rows are put in order here.
    let sql = format!(
        "SELECT a.attrelid, a.attnum, a.atttypid, a.attcollation, a.attname::text AS name, \
                format_type(a.atttypid, a.atttypmod) AS data_type, a.attnotnull, \
                CASE WHEN a.atthasdef AND a.attgenerated = '' THEN {default} END AS default_expr, \
                CASE WHEN a.atthasdef AND a.attgenerated <> '' THEN {generated} END AS generated, \
                a.attidentity::text AS identity, \
                CASE WHEN a.attcollation <> 0 AND a.attcollation <> \
                          (SELECT t.typcollation FROM pg_type t WHERE t.oid = a.atttypid) THEN \
                    (SELECT CASE WHEN co.collnamespace = 'pg_catalog'::regnamespace \
                                 THEN quote_ident(co.collname) \
                                 ELSE co.collnamespace::regnamespace::text || '.' || quote_ident(co.collname) END \
                       FROM pg_collation co WHERE co.oid = a.attcollation) \
                END AS collation, \
                {grants} AS grants, \
                d.description AS comment \
         FROM pg_attribute a \
         {comment} \
         WHERE a.attrelid = ANY({KEPT_RELATIONS}) AND a.attnum > 0 AND NOT a.attisdropped",
        default = "(SELECT pg_get_expr(ad.adbin, 0) FROM pg_attrdef ad \
                     WHERE ad.adrelid = a.attrelid AND ad.adnum = a.attnum)",
        generated = "(SELECT pg_get_expr(ad.adbin, ad.adrelid) FROM pg_attrdef ad \
                       WHERE ad.adrelid = a.attrelid AND ad.adnum = a.attnum)",
        grants = acl_items("a.attacl", None),
        comment = comment_join("d", "pg_class", "a.attrelid", "a.attnum"),
    );
    let rows = super::query_for(client, &sql, relations)?;
    let mut columns = rows
        .iter()
        .map(|row| {
            let identity = match row.try_get::<_, &str>("identity")? {
                "a" => Some(Identity::Always),
                "d" => Some(Identity::ByDefault),
                _ => None,
            };
            let column = Column {
                name: row.try_get("name")?,
                data_type: row.try_get("data_type")?,
                not_null: row.try_get("attnotnull")?,
                default: row.try_get("default_expr")?,
                identity,
                generated: row.try_get("generated")?,
                collation: row.try_get("collation")?,
                grants: parse_acl(&row.try_get::<_, Vec<String>>("grants")?),
                comment: row.try_get("comment")?,
            };
            Ok(ReadColumn {
                relation: row.try_get("attrelid")?,
                attnum: row.try_get("attnum")?,
                type_oid: row.try_get("atttypid")?,
                collation_oid: row.try_get("attcollation")?,
                column,
            })
        })
        .collect::<Result<Vec<_>, Error>>()?;
    columns.sort_unstable_by_key(|read| (read.relation, read.attnum));
    Ok(columns)
}
