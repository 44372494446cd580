//! Foreign servers and their user mappings. A user mapping's option values are credentials:
//! each is turned into a fingerprint as it is read, and the value is not kept.

use postgres::{Error, GenericClient};

use super::sql::{comment_of, not_extension_member};
use crate::database_objects::{secret_fingerprint, ForeignServer, SecretOption, UserMapping};

pub(super) fn read(client: &mut impl GenericClient) -> Result<Vec<ForeignServer>, Error> {
    let sql = format!(
        "SELECT s.oid, s.srvname::text AS name, w.fdwname::text AS wrapper, s.srvtype AS server_type, \
                s.srvversion AS version, coalesce(s.srvoptions, '{{}}') AS options, \
                pg_get_userbyid(s.srvowner)::text AS owner, {comment} AS comment \
         FROM pg_foreign_server s JOIN pg_foreign_data_wrapper w ON w.oid = s.srvfdw \
         WHERE {not_member}",
        comment = comment_of("pg_foreign_server", "s.oid", "0"),
        not_member = not_extension_member("pg_foreign_server", "s.oid"),
    );
    let rows = client.query_typed(&sql, &[])?;
    let mut servers = Vec::with_capacity(rows.len());
    let mut oids = Vec::with_capacity(rows.len());
    for row in &rows {
        oids.push(row.try_get::<_, u32>("oid")?);
        servers.push(ForeignServer {
            name: row.try_get("name")?,
            wrapper: row.try_get("wrapper")?,
            server_type: row.try_get("server_type")?,
            version: row.try_get("version")?,
            options: row.try_get("options")?,
            owner: row.try_get("owner")?,
            user_mappings: Vec::new(),
            comment: row.try_get("comment")?,
        });
    }
    // pg_user_mapping itself when the role may read it (superusers): the pg_user_mappings
    // view hides the options from roles that do not own the server.
    let may_read_all: bool = client
        .query_one(
            "SELECT has_table_privilege('pg_catalog.pg_user_mapping', 'SELECT')",
            &[],
        )?
        .get(0);
    let mappings = client.query_typed(
        if may_read_all {
            "SELECT m.umserver, CASE WHEN m.umuser = 0 THEN 'public' \
                    ELSE pg_get_userbyid(m.umuser)::text END AS user_name, \
                    coalesce(m.umoptions, '{}') AS options \
             FROM pg_user_mapping m"
        } else {
            "SELECT m.srvid AS umserver, CASE WHEN m.umuser = 0 THEN 'public' \
                    ELSE m.usename::text END AS user_name, coalesce(m.umoptions, '{}') AS options \
             FROM pg_user_mappings m"
        },
        &[],
    )?;
    for row in &mappings {
        let server: u32 = row.try_get("umserver")?;
        let Some(index) = oids.iter().position(|oid| *oid == server) else {
            continue;
        };
        let mut options: Vec<SecretOption> = row
            .try_get::<_, Vec<String>>("options")?
            .iter()
            .map(|option| {
                let (name, value) = option.split_once('=').unwrap_or((option, ""));
                SecretOption {
                    name: name.to_string(),
                    fingerprint: secret_fingerprint(value),
                }
            })
            .collect();
        options.sort_by(|a, b| a.name.cmp(&b.name));
        servers[index].user_mappings.push(UserMapping {
            user: row.try_get("user_name")?,
            options,
        });
    }
    for server in &mut servers {
        server.user_mappings.sort_by(|a, b| a.user.cmp(&b.user));
    }
    servers.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(servers)
}
