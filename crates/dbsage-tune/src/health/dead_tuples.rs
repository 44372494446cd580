//! `dead_tuples`: tables where dead rows make up a large share (vacuum is behind: bloat and
//! slower scans). Defaults: warning at 20 % (autovacuum's own `autovacuum_vacuum_scale_factor`),
//! critical at 50 % (half of every scan reads dead rows: the table is twice its size); tables
//! with fewer than 1,000 dead rows are not judged (a few pages, noise on small tables).

use postgres::Client;
use serde::Deserialize;
use serde_json::json;

use super::{finding, quote_qualified, CheckReport, Context, HealthConfig, Metric, Status};

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Dead rows as a percent of live + dead.
    pub warning_percent: f64,
    pub critical_percent: f64,
    pub min_dead_rows: i64,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            warning_percent: 20.0,
            critical_percent: 50.0,
            min_dead_rows: 1000,
        }
    }
}

pub fn check(
    client: &mut Client,
    config: &HealthConfig,
    _context: &Context,
) -> Result<CheckReport, postgres::Error> {
    let config = &config.dead_tuples;
    let rows = client.query(
        "SELECT schemaname::text, relname::text, n_live_tup, n_dead_tup,
                n_dead_tup * 100.0 / greatest(n_live_tup + n_dead_tup, 1)::float8,
                coalesce(to_char(greatest(last_vacuum, last_autovacuum), 'YYYY-MM-DD HH24:MI:SS TZ'), 'never')
           FROM pg_stat_user_tables
          WHERE n_dead_tup >= $1
          ORDER BY 4 DESC",
        &[&config.min_dead_rows],
    )?;
    let total_dead: i64 = client
        .query_one(
            "SELECT coalesce(sum(n_dead_tup), 0)::int8 FROM pg_stat_user_tables",
            &[],
        )?
        .get(0);
    let mut findings = Vec::new();
    for row in &rows {
        let (schema, table): (String, String) = (row.get(0), row.get(1));
        let (live, dead): (i64, i64) = (row.get(2), row.get(3));
        let percent: f64 = row.get(4);
        let status = Status::above(percent, config.warning_percent, config.critical_percent);
        if status == Status::Ok {
            continue;
        }
        let last: String = row.get(5);
        let mut f = finding(
            "dead-tuples",
            status,
            format!("table {schema}.{table}"),
            format!(
                "table {schema}.{table} has {dead} dead rows ({percent:.1} % of its rows; last vacuum: {last})"
            ),
            json!({"live_rows": live, "dead_rows": dead, "percent": percent, "last_vacuum": last,
                   "warning_percent": config.warning_percent, "critical_percent": config.critical_percent}),
        );
        f.fix_sql = Some(format!(
            "VACUUM (ANALYZE) {};",
            quote_qualified(&schema, &table)
        ));
        findings.push(f);
    }
    let ok = format!(
        "no table over {} % dead rows ({total_dead} dead rows in all)",
        config.warning_percent
    );
    Ok(
        CheckReport::from_findings("dead_tuples", findings, ok).with_metrics(vec![Metric::new(
            "dead_tuples",
            "Dead rows over all user tables.",
            total_dead as f64,
        )]),
    )
}
