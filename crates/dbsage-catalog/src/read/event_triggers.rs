//! Event triggers, in one query. Those whose function lives in an excluded schema (Supabase's
//! own, in `extensions`) or belongs to an extension are the platform's, not the project's.

use postgres::{Error, GenericClient};

use super::sql::{comment_of, not_extension_member};
use crate::database_objects::EventTrigger;

pub(super) fn read(
    client: &mut impl GenericClient,
    excluded: &[String],
) -> Result<Vec<EventTrigger>, Error> {
    let sql = format!(
        "SELECT e.evtname::text AS name, e.evtevent::text AS event, \
                coalesce(e.evttags, '{{}}') AS tags, \
                format('%I.%I', n.nspname, p.proname) AS function, \
                e.evtenabled::text AS enabled, pg_get_userbyid(e.evtowner)::text AS owner, \
                {comment} AS comment \
         FROM pg_event_trigger e \
         JOIN pg_proc p ON p.oid = e.evtfoid \
         JOIN pg_namespace n ON n.oid = p.pronamespace \
         WHERE n.nspname::text <> ALL($1::text[]) AND {not_member} \
           AND {function_not_member}",
        comment = comment_of("pg_event_trigger", "e.oid", "0"),
        not_member = not_extension_member("pg_event_trigger", "e.oid"),
        function_not_member = not_extension_member("pg_proc", "p.oid"),
    );
    let mut triggers = super::query_excluding(client, &sql, excluded)?
        .iter()
        .map(|row| {
            let mut tags: Vec<String> = row.try_get("tags")?;
            tags.sort();
            Ok(EventTrigger {
                name: row.try_get("name")?,
                event: row.try_get("event")?,
                tags,
                function: row.try_get("function")?,
                enabled: row.try_get("enabled")?,
                owner: row.try_get("owner")?,
                comment: row.try_get("comment")?,
            })
        })
        .collect::<Result<Vec<_>, Error>>()?;
    triggers.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(triggers)
}
