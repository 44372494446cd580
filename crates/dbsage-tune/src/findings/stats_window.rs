//! Since when the usage counters (`idx_scan`, `seq_scan`, cache hits) have been collected: the
//! later of the last `pg_stat_reset()` and the server's start (counters are lost on a crash or
//! an upgrade, and a restore starts them from zero), so "unused" is never judged on a day of data.

use postgres::Client;
use serde::Serialize;

use crate::TuneError;

pub(crate) const QUERY: &str = "\
select greatest(d.stats_reset, pg_catalog.pg_postmaster_start_time())::text as since,
       extract(epoch from now() - greatest(d.stats_reset, pg_catalog.pg_postmaster_start_time()))::float8 as age_seconds,
       d.stats_reset is not null and d.stats_reset >= pg_catalog.pg_postmaster_start_time() as reset
  from pg_catalog.pg_stat_database d
 where d.datname = current_database()";

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StatsWindow {
    /// When collection started (timestamp with time zone, as the server prints it).
    pub since: String,
    pub age_seconds: f64,
    /// `stats_reset` (true) or the server's start (false).
    pub source: &'static str,
}

pub(crate) fn read(client: &mut Client) -> Result<StatsWindow, TuneError> {
    let row = client
        .query_one(QUERY, &[])
        .map_err(TuneError::db("reading when statistics were reset"))?;
    let reset: bool = row.get("reset");
    Ok(StatsWindow {
        since: row.get("since"),
        age_seconds: row.get("age_seconds"),
        source: if reset {
            "pg_stat_database.stats_reset"
        } else {
            "pg_postmaster_start_time()"
        },
    })
}

impl StatsWindow {
    /// "3 days" / "5 hours" / "12 minutes": how long the counters have been collected.
    pub fn age_text(&self) -> String {
        let s = self.age_seconds;
        if s >= 2.0 * 86400.0 {
            format!("{:.0} days", s / 86400.0)
        } else if s >= 2.0 * 3600.0 {
            format!("{:.0} hours", s / 3600.0)
        } else {
            format!("{:.0} minutes", s / 60.0)
        }
    }
}
