//! Every table of the project with its size, usage counters and autovacuum thresholds, read
//! once for `no-primary-key`, `seq-scan-heavy-table`, `stale-statistics` and the bloat checks.

use postgres::Client;

use crate::TuneError;

/// A per-table storage parameter, else the server setting (autovacuum's own rule).
macro_rules! table_setting {
    ($name:literal) => {
        concat!(
            "coalesce(case when c.reloptions is not null then (select o.option_value from pg_catalog.pg_options_to_table(c.reloptions) o where o.option_name = '",
            $name,
            "') end::float8, current_setting('",
            $name,
            "')::float8)"
        )
    };
}

pub(crate) const QUERY: &str = concat!(
    "select quote_ident(n.nspname) || '.' || quote_ident(c.relname) as table_name,
       c.oid::int8 as table_oid, c.relkind::text as kind, c.relispartition,
       c.reltuples::float8 as reltuples, c.relpages::int8 as relpages,
       exists (select 1 from pg_catalog.pg_index i where i.indrelid = c.oid and i.indisprimary) as has_primary_key,
       -- the statistics functions themselves: pg_stat_all_tables computes twenty per row
       pg_catalog.pg_stat_get_numscans(c.oid) as seq_scan,
       pg_catalog.pg_stat_get_tuples_returned(c.oid) as seq_tup_read,
       coalesce((select sum(pg_catalog.pg_stat_get_numscans(i.indexrelid)) from pg_catalog.pg_index i
                  where i.indrelid = c.oid), 0)::int8 as idx_scan,
       pg_catalog.pg_stat_get_live_tuples(c.oid) as live_rows,
       pg_catalog.pg_stat_get_dead_tuples(c.oid) as dead_rows,
       pg_catalog.pg_stat_get_mod_since_analyze(c.oid) as modified_since_analyze,
       greatest(pg_catalog.pg_stat_get_last_analyze_time(c.oid),
                pg_catalog.pg_stat_get_last_autoanalyze_time(c.oid))::text as last_analyzed,
       greatest(pg_catalog.pg_stat_get_last_vacuum_time(c.oid),
                pg_catalog.pg_stat_get_last_autovacuum_time(c.oid))::text as last_vacuumed,
       ",
    table_setting!("autovacuum_analyze_threshold"),
    " + ",
    table_setting!("autovacuum_analyze_scale_factor"),
    " * greatest(c.reltuples, 0) as analyze_threshold,
       ",
    table_setting!("autovacuum_vacuum_threshold"),
    " + ",
    table_setting!("autovacuum_vacuum_scale_factor"),
    " * greatest(c.reltuples, 0) as vacuum_threshold
  from pg_catalog.pg_class c
  join pg_catalog.pg_namespace n on n.oid = c.relnamespace
 where c.relkind in ('r', 'm', 'p') and ",
    project_relation!(),
    "
 order by 1"
);

#[derive(Debug, Clone)]
pub(crate) struct TableFacts {
    pub name: String,
    pub oid: i64,
    /// `r` table, `m` materialized view, `p` partitioned table.
    pub kind: String,
    pub is_partition: bool,
    /// The planner's row count; -1 before the first VACUUM or ANALYZE.
    pub reltuples: f64,
    pub relpages: i64,
    pub has_primary_key: bool,
    pub seq_scan: i64,
    pub seq_tup_read: i64,
    pub idx_scan: i64,
    pub live_rows: i64,
    pub dead_rows: i64,
    pub modified_since_analyze: i64,
    pub last_analyzed: Option<String>,
    pub last_vacuumed: Option<String>,
    pub analyze_threshold: f64,
    pub vacuum_threshold: f64,
}

impl TableFacts {
    /// The best row count at hand: the planner's, or the live-tuple counter before any analyse.
    pub fn rows(&self) -> f64 {
        self.reltuples.max(self.live_rows as f64)
    }

    /// Why the planner's statistics for this table cannot be trusted, if they cannot: more
    /// rows changed since the last analyse (or ever, when never analysed) than autovacuum's
    /// analyse threshold. A small table under the threshold is one autovacuum itself would
    /// leave alone: not reported.
    pub fn stale_reason(&self) -> Option<String> {
        if self.kind == "p" || self.modified_since_analyze as f64 <= self.analyze_threshold {
            return None;
        }
        Some(match &self.last_analyzed {
            None => format!(
                "never analysed, {} rows written (autovacuum's threshold: {:.0})",
                self.modified_since_analyze, self.analyze_threshold
            ),
            Some(_) => format!(
                "{} rows modified since the last analyse (autovacuum's threshold: {:.0})",
                self.modified_since_analyze, self.analyze_threshold
            ),
        })
    }
}

pub(crate) fn read(client: &mut Client) -> Result<Vec<TableFacts>, TuneError> {
    let rows = client
        .query(QUERY, &[])
        .map_err(TuneError::db("reading the tables and their statistics"))?;
    Ok(rows
        .iter()
        .map(|r| TableFacts {
            name: r.get("table_name"),
            oid: r.get("table_oid"),
            kind: r.get("kind"),
            is_partition: r.get("relispartition"),
            reltuples: r.get("reltuples"),
            relpages: r.get("relpages"),
            has_primary_key: r.get("has_primary_key"),
            seq_scan: r.get("seq_scan"),
            seq_tup_read: r.get("seq_tup_read"),
            idx_scan: r.get("idx_scan"),
            live_rows: r.get("live_rows"),
            dead_rows: r.get("dead_rows"),
            modified_since_analyze: r.get("modified_since_analyze"),
            last_analyzed: r.get("last_analyzed"),
            last_vacuumed: r.get("last_vacuumed"),
            analyze_threshold: r.get("analyze_threshold"),
            vacuum_threshold: r.get("vacuum_threshold"),
        })
        .collect())
}
