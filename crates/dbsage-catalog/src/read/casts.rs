//! Casts made with `CREATE CAST`: not built in (OIDs below `FirstNormalObjectId`, 16384, are
//! initdb's), not an extension's, and not through a function of an excluded schema.

use postgres::{Error, GenericClient};

use super::sql::{comment_of, not_extension_member};
use crate::database_objects::Cast;

pub(super) fn read(
    client: &mut impl GenericClient,
    excluded: &[String],
) -> Result<Vec<Cast>, Error> {
    let sql = format!(
        "SELECT format_type(c.castsource, NULL) AS source, format_type(c.casttarget, NULL) AS target, \
                CASE WHEN c.castfunc <> 0 THEN \
                    (SELECT format('%I.%I(%s)', n.nspname, p.proname, oidvectortypes(p.proargtypes)) \
                       FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace \
                      WHERE p.oid = c.castfunc) \
                END AS function, \
                CASE c.castmethod WHEN 'f' THEN 'function' WHEN 'b' THEN 'binary' ELSE 'inout' END AS method, \
                CASE c.castcontext WHEN 'e' THEN 'explicit' WHEN 'a' THEN 'assignment' ELSE 'implicit' END AS context, \
                {comment} AS comment \
         FROM pg_cast c \
         WHERE c.oid >= 16384 AND {not_member} \
           AND NOT EXISTS (SELECT 1 FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace \
                            WHERE p.oid = c.castfunc AND n.nspname::text = ANY($1::text[]))",
        comment = comment_of("pg_cast", "c.oid", "0"),
        not_member = not_extension_member("pg_cast", "c.oid"),
    );
    let mut casts = super::query_excluding(client, &sql, excluded)?
        .iter()
        .map(|row| {
            Ok(Cast {
                source: row.try_get("source")?,
                target: row.try_get("target")?,
                function: row.try_get("function")?,
                method: row.try_get("method")?,
                context: row.try_get("context")?,
                comment: row.try_get("comment")?,
            })
        })
        .collect::<Result<Vec<_>, Error>>()?;
    casts.sort_by_key(|c| c.key());
    Ok(casts)
}
