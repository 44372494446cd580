//! Publications with their tables and schemas, in one query. Tables in excluded schemas are
//! left out of each publication (Supabase's `supabase_realtime` holds the project's tables).

use postgres::{Error, GenericClient};

use super::json::Json;
use super::sql::comment_of;
use crate::database_objects::Publication;

pub(super) fn read(
    client: &mut impl GenericClient,
    excluded: &[String],
) -> Result<Vec<Publication>, Error> {
    let version: i32 = client
        .query_one("SELECT current_setting('server_version_num')::int", &[])?
        .get(0);
    // Column lists, row filters and TABLES IN SCHEMA came with PostgreSQL 15.
    let (columns, row_filter, schemas) = if version >= 150000 {
        (
            "coalesce((SELECT array_agg(a.attname::text ORDER BY a.attnum) FROM pg_attribute a \
               WHERE a.attrelid = pr.prrelid AND a.attnum = ANY(pr.prattrs::int2[])), '{}')",
            "pg_get_expr(pr.prqual, pr.prrelid)",
            "ARRAY(SELECT sn.nspname::text FROM pg_publication_namespace pn \
                   JOIN pg_namespace sn ON sn.oid = pn.pnnspid \
                  WHERE pn.pnpubid = p.oid ORDER BY 1)",
        )
    } else {
        ("'{}'::text[]", "NULL::text", "'{}'::text[]")
    };
    let sql = format!(
        "SELECT p.pubname::text AS name, pg_get_userbyid(p.pubowner)::text AS owner, \
                p.puballtables, p.pubviaroot, \
                array_remove(ARRAY[CASE WHEN p.pubinsert THEN 'insert' END, \
                                   CASE WHEN p.pubupdate THEN 'update' END, \
                                   CASE WHEN p.pubdelete THEN 'delete' END, \
                                   CASE WHEN p.pubtruncate THEN 'truncate' END], NULL) AS publish, \
                (SELECT coalesce(json_agg(json_build_object('schema', n.nspname, 'name', c.relname, \
                            'columns', {columns}, 'row_filter', {row_filter}) \
                        ORDER BY n.nspname, c.relname), '[]') \
                   FROM pg_publication_rel pr JOIN pg_class c ON c.oid = pr.prrelid \
                   JOIN pg_namespace n ON n.oid = c.relnamespace \
                  WHERE pr.prpubid = p.oid AND n.nspname::text <> ALL($1::text[])) AS tables, \
                {schemas} AS schemas, {comment} AS comment \
         FROM pg_publication p",
        comment = comment_of("pg_publication", "p.oid", "0"),
    );
    let mut publications = super::query_excluding(client, &sql, excluded)?
        .iter()
        .map(|row| {
            let Json(tables) = row.try_get("tables")?;
            Ok(Publication {
                name: row.try_get("name")?,
                owner: row.try_get("owner")?,
                all_tables: row.try_get("puballtables")?,
                publish: row.try_get("publish")?,
                via_root: row.try_get("pubviaroot")?,
                tables,
                schemas: row.try_get("schemas")?,
                comment: row.try_get("comment")?,
            })
        })
        .collect::<Result<Vec<_>, Error>>()?;
    publications.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(publications)
}
