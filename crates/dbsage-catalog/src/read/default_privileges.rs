//! `ALTER DEFAULT PRIVILEGES` entries (`pg_default_acl`): what objects a role creates will be
//! granted. Diffs that ignore them silently drop them (supabase/cli#5930).

use postgres::{Error, GenericClient};

use super::acl::parse_acl;
use crate::model::DefaultPrivilege;

/// Reads every entry, except those in an excluded schema, sorted by role, schema, object type.
pub(super) fn read(
    client: &mut impl GenericClient,
    excluded: &[String],
) -> Result<Vec<DefaultPrivilege>, Error> {
    let sql = "SELECT pg_get_userbyid(d.defaclrole)::text AS role, n.nspname::text AS schema, \
                      d.defaclobjtype::text AS objtype, d.defaclacl::text[] AS grants \
               FROM pg_default_acl d LEFT JOIN pg_namespace n ON n.oid = d.defaclnamespace \
               WHERE n.nspname IS NULL OR n.nspname::text <> ALL($1::text[])";
    let mut entries = super::query_excluding(client, sql, excluded)?
        .iter()
        .map(|row| {
            let code: String = row.try_get("objtype")?;
            Ok(DefaultPrivilege {
                role: row.try_get("role")?,
                schema: row.try_get("schema")?,
                object_type: DefaultPrivilege::object_type_of(&code).to_string(),
                grants: parse_acl(&row.try_get::<_, Vec<String>>("grants")?),
            })
        })
        .collect::<Result<Vec<_>, Error>>()?;
    entries.sort_by(|a, b| {
        (&a.role, &a.schema, &a.object_type).cmp(&(&b.role, &b.schema, &b.object_type))
    });
    Ok(entries)
}
