//! Sequences, in one query.

use postgres::{Error, GenericClient};

use super::acl::parse_acl;
use super::sql::{acl_items, comment_of, not_extension_member, VISIBLE_NAMESPACE};
use crate::model::Sequence;

/// Reads every sequence with its options and owning column, sorted by schema and name. The
/// current value is data and is not read.
pub(super) fn read(
    client: &mut impl GenericClient,
    excluded: &[String],
) -> Result<Vec<Sequence>, Error> {
    let sql = format!(
        "SELECT n.nspname::text AS schema, c.relname::text AS name, \
                format_type(s.seqtypid, NULL) AS data_type, \
                s.seqstart, s.seqincrement, s.seqmin, s.seqmax, s.seqcache, s.seqcycle, \
                (SELECT rn.nspname || '.' || rc.relname || '.' || a.attname \
                   FROM pg_depend dep \
                   JOIN pg_class rc ON rc.oid = dep.refobjid \
                   JOIN pg_namespace rn ON rn.oid = rc.relnamespace \
                   JOIN pg_attribute a ON a.attrelid = dep.refobjid AND a.attnum = dep.refobjsubid \
                  WHERE dep.classid = 'pg_class'::regclass AND dep.objid = c.oid \
                    AND dep.refclassid = 'pg_class'::regclass AND dep.deptype IN ('a', 'i') \
                  LIMIT 1) AS owned_by, \
                EXISTS (SELECT 1 FROM pg_depend dep WHERE dep.classid = 'pg_class'::regclass \
                        AND dep.objid = c.oid AND dep.deptype = 'i') AS identity, \
                pg_get_userbyid(c.relowner)::text AS owner, \
                {grants} AS grants, \
                {comment} AS comment \
         FROM pg_sequence s \
         JOIN pg_class c ON c.oid = s.seqrelid \
         JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE {VISIBLE_NAMESPACE} AND {not_member}",
        grants = acl_items("c.relacl", Some(("s", "c.relowner"))),
        comment = comment_of("pg_class", "c.oid", "0"),
        not_member = not_extension_member("pg_class", "c.oid"),
    );
    let rows = super::query_excluding(client, &sql, excluded)?;
    let mut sequences = rows
        .iter()
        .map(|row| {
            Ok(Sequence {
                schema: row.try_get("schema")?,
                name: row.try_get("name")?,
                data_type: row.try_get("data_type")?,
                start: row.try_get("seqstart")?,
                increment: row.try_get("seqincrement")?,
                min_value: row.try_get("seqmin")?,
                max_value: row.try_get("seqmax")?,
                cache: row.try_get("seqcache")?,
                cycle: row.try_get("seqcycle")?,
                owned_by: row.try_get("owned_by")?,
                identity: row.try_get("identity")?,
                owner: row.try_get("owner")?,
                grants: parse_acl(&row.try_get::<_, Vec<String>>("grants")?),
                comment: row.try_get("comment")?,
            })
        })
        .collect::<Result<Vec<_>, Error>>()?;
    sequences.sort_by(|a, b| (&a.schema, &a.name).cmp(&(&b.schema, &b.name)));
    Ok(sequences)
}
