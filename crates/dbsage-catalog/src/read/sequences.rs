//! Sequences, in one query.

use std::collections::HashMap;

use postgres::types::Type;
use postgres::{Error, GenericClient};

use super::acl::parse_acl;
use super::column_names::ColumnNames;
use super::sql::{acl_items, comment_join, not_extension_member, VISIBLE_NAMESPACE};
use crate::model::Sequence;

/// Reads every sequence with its options and owning column, sorted by schema and name. The
/// current value is data and is not read. `names` holds the kept relations and their columns,
/// by which owning columns are named.
pub(super) fn read(
    client: &mut impl GenericClient,
    excluded: &[String],
    names: &ColumnNames,
) -> Result<Vec<Sequence>, Error> {
    // One row per sequence and automatic or internal dependency (normally one: the owning
    // column, internal for an identity), joined rather than a subquery per sequence; the
    // owning column is named in memory.
    let sql = format!(
        "SELECT c.oid, n.nspname::text AS schema, c.relname::text AS name, \
                format_type(s.seqtypid, NULL) AS data_type, \
                s.seqstart, s.seqincrement, s.seqmin, s.seqmax, s.seqcache, s.seqcycle, \
                dep.deptype::text AS dependency, dep.refclassid = 'pg_class'::regclass AS on_relation, \
                dep.refobjid AS owner_relation, dep.refobjsubid::int2 AS owner_column, \
                pg_get_userbyid(c.relowner)::text AS owner, \
                {grants} AS grants, \
                d.description AS comment \
         FROM pg_sequence s \
         JOIN pg_class c ON c.oid = s.seqrelid \
         JOIN pg_namespace n ON n.oid = c.relnamespace \
         LEFT JOIN pg_depend dep ON dep.classid = 'pg_class'::regclass AND dep.objid = c.oid \
                                AND dep.deptype IN ('a', 'i') \
         {comment} \
         WHERE {VISIBLE_NAMESPACE} AND {not_member}",
        grants = acl_items("c.relacl", Some(("s", "c.relowner"))),
        comment = comment_join("d", "pg_class", "c.oid", "0"),
        not_member = not_extension_member("pg_class", "c.oid"),
    );
    let rows = super::query_excluding(client, &sql, excluded)?;
    let mut sequences: Vec<Sequence> = Vec::with_capacity(rows.len());
    let mut at: HashMap<u32, usize> = HashMap::with_capacity(rows.len());
    for row in &rows {
        let oid: u32 = row.try_get("oid")?;
        let i = match at.get(&oid) {
            Some(&i) => i,
            None => {
                at.insert(oid, sequences.len());
                sequences.push(Sequence {
                    schema: row.try_get("schema")?,
                    name: row.try_get("name")?,
                    data_type: row.try_get("data_type")?,
                    start: row.try_get("seqstart")?,
                    increment: row.try_get("seqincrement")?,
                    min_value: row.try_get("seqmin")?,
                    max_value: row.try_get("seqmax")?,
                    cache: row.try_get("seqcache")?,
                    cycle: row.try_get("seqcycle")?,
                    owned_by: None,
                    identity: false,
                    owner: row.try_get("owner")?,
                    grants: parse_acl(&row.try_get::<_, Vec<String>>("grants")?),
                    comment: row.try_get("comment")?,
                });
                sequences.len() - 1
            }
        };
        let sequence = &mut sequences[i];
        let dependency: Option<&str> = row.try_get("dependency")?;
        sequence.identity |= dependency == Some("i");
        if sequence.owned_by.is_none()
            && row.try_get::<_, Option<bool>>("on_relation")? == Some(true)
        {
            sequence.owned_by = owning_column(
                client,
                names,
                row.try_get("owner_relation")?,
                row.try_get("owner_column")?,
            )?;
        }
    }
    sequences.sort_by(|a, b| (&a.schema, &a.name).cmp(&(&b.schema, &b.name)));
    Ok(sequences)
}

/// `schema.table.column` of column `column` of relation `relation`: from the names read when
/// the relation is kept, else asked of the server (a relation that is not read, such as an
/// extension's table, whose sequence is not the extension's).
fn owning_column(
    client: &mut impl GenericClient,
    names: &ColumnNames,
    relation: u32,
    column: i16,
) -> Result<Option<String>, Error> {
    if let (Some((schema, table)), Some(name)) =
        (names.relation(relation), names.read_name(relation, column))
    {
        return Ok(Some(format!("{schema}.{table}.{name}")));
    }
    let rows = client.query_typed(
        "SELECT rn.nspname || '.' || rc.relname || '.' || a.attname AS owned_by \
         FROM pg_class rc \
         JOIN pg_namespace rn ON rn.oid = rc.relnamespace \
         JOIN pg_attribute a ON a.attrelid = rc.oid AND a.attnum = $2 \
         WHERE rc.oid = $1",
        &[(&relation, Type::OID), (&column, Type::INT2)],
    )?;
    rows.first().map(|row| row.try_get("owned_by")).transpose()
}
