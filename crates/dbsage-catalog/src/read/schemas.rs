//! Schemas and extensions, one query each.

use postgres::{Error, GenericClient};

use super::acl::parse_acl;
use super::sql::{acl_items, comment_of, not_extension_member, VISIBLE_NAMESPACE};
use crate::model::{Extension, Schema};

/// Reads the covered schemas, sorted by name.
pub(super) fn read_schemas(
    client: &mut impl GenericClient,
    excluded: &[String],
) -> Result<Vec<Schema>, Error> {
    let sql = format!(
        "SELECT n.nspname::text AS name, pg_get_userbyid(n.nspowner)::text AS owner, \
                {grants} AS grants, {comment} AS comment \
         FROM pg_namespace n \
         WHERE {VISIBLE_NAMESPACE} AND {not_member}",
        grants = acl_items("n.nspacl", Some(("n", "n.nspowner"))),
        comment = comment_of("pg_namespace", "n.oid", "0"),
        not_member = not_extension_member("pg_namespace", "n.oid"),
    );
    let mut schemas = super::query_excluding(client, &sql, excluded)?
        .iter()
        .map(|row| {
            Ok(Schema {
                name: row.try_get("name")?,
                owner: row.try_get("owner")?,
                grants: parse_acl(&row.try_get::<_, Vec<String>>("grants")?),
                comment: row.try_get("comment")?,
            })
        })
        .collect::<Result<Vec<_>, Error>>()?;
    schemas.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(schemas)
}

/// Reads every installed extension, sorted by name. Extensions are database-wide, so the
/// schema filters do not apply to them (`plpgsql`, in `pg_catalog`, is listed too).
pub(super) fn read_extensions(client: &mut impl GenericClient) -> Result<Vec<Extension>, Error> {
    let rows = client.query_typed(
        "SELECT e.extname::text AS name, e.extversion AS version, n.nspname::text AS schema \
         FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace",
        &[],
    )?;
    let mut extensions = rows
        .iter()
        .map(|row| {
            Ok(Extension {
                name: row.try_get("name")?,
                version: row.try_get("version")?,
                schema: row.try_get("schema")?,
            })
        })
        .collect::<Result<Vec<_>, Error>>()?;
    extensions.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(extensions)
}
