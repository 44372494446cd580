//! User triggers of the kept tables and views, in one query.

use postgres::{Error, GenericClient};

use super::sql::{comment_of, KEPT_RELATIONS};
use crate::model::{Trigger, TriggerEnabled};

/// Reads the non-internal triggers of the relations `relations` as `(relation oid, trigger)`.
/// Internal triggers implement foreign keys and deferred uniqueness; the constraint itself
/// covers them.
pub(super) fn read(
    client: &mut impl GenericClient,
    relations: &[u32],
) -> Result<Vec<(u32, Trigger)>, Error> {
    let sql = format!(
        "SELECT t.tgrelid, t.tgname::text AS name, pg_get_triggerdef(t.oid) AS definition, \
                t.tgenabled::text AS enabled, {comment} AS comment \
         FROM pg_trigger t \
         WHERE t.tgrelid = ANY({KEPT_RELATIONS}) AND NOT t.tgisinternal",
        comment = comment_of("pg_trigger", "t.oid", "0"),
    );
    let rows = super::query_for(client, &sql, relations)?;
    rows.iter()
        .map(|row| {
            let trigger = Trigger {
                name: row.try_get("name")?,
                definition: row.try_get("definition")?,
                enabled: TriggerEnabled::from_code(row.try_get("enabled")?),
                comment: row.try_get("comment")?,
            };
            Ok((row.try_get("tgrelid")?, trigger))
        })
        .collect()
}
