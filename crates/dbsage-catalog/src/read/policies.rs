//! Row-level security policies, in one query.

use postgres::{Error, GenericClient};

use super::sql::KEPT_RELATIONS;
use crate::model::{Policy, PolicyCommand};

/// Reads the policies of the tables `tables` as `(table oid, policy)`.
pub(super) fn read(
    client: &mut impl GenericClient,
    tables: &[u32],
) -> Result<Vec<(u32, Policy)>, Error> {
    let sql = format!(
        "SELECT p.polrelid, p.polname::text AS name, p.polcmd::text AS command, p.polpermissive, \
                ARRAY(SELECT CASE WHEN r = 0 THEN 'public' ELSE pg_get_userbyid(r)::text END \
                      FROM unnest(p.polroles) r) AS roles, \
                pg_get_expr(p.polqual, p.polrelid, true) AS using_expr, \
                pg_get_expr(p.polwithcheck, p.polrelid, true) AS with_check \
         FROM pg_policy p \
         WHERE p.polrelid = ANY({KEPT_RELATIONS})"
    );
    let rows = super::query_for(client, &sql, tables)?;
    rows.iter()
        .map(|row| {
            let mut roles: Vec<String> = row.try_get("roles")?;
            roles.sort();
            let policy = Policy {
                name: row.try_get("name")?,
                command: PolicyCommand::from_code(row.try_get("command")?),
                permissive: row.try_get("polpermissive")?,
                roles,
                using: row.try_get("using_expr")?,
                with_check: row.try_get("with_check")?,
            };
            Ok((row.try_get("polrelid")?, policy))
        })
        .collect()
}
