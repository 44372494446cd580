//! `vacuum_age`: tables with dead rows not vacuumed, or with changes not analyzed, for too
//! long (by hand or by autovacuum). "Never" counts from when the statistics were reset or the
//! server started, whichever is later. Defaults from check_postgres `last_vacuum` /
//! `last_analyze`: warning after 1 day, critical after 2 days.

use postgres::Client;
use serde::Deserialize;
use serde_json::json;

use super::{
    finding, human_seconds, quote_qualified, CheckReport, Context, HealthConfig, Metric, Status,
};

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub warning_seconds: f64,
    pub critical_seconds: f64,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            warning_seconds: 86_400.0,
            critical_seconds: 172_800.0,
        }
    }
}

pub fn check(
    client: &mut Client,
    config: &HealthConfig,
    _context: &Context,
) -> Result<CheckReport, postgres::Error> {
    let config = &config.vacuum_age;
    let rows = client.query(
        "WITH since AS (
             SELECT greatest(pg_postmaster_start_time(), stats_reset) AS t
               FROM pg_stat_database WHERE datname = current_database())
         SELECT schemaname::text, relname::text, n_dead_tup, n_mod_since_analyze,
                CASE WHEN n_dead_tup > 0 THEN extract(epoch FROM now() -
                     greatest(last_vacuum, last_autovacuum, since.t))::float8 END,
                CASE WHEN n_mod_since_analyze > 0 THEN extract(epoch FROM now() -
                     greatest(last_analyze, last_autoanalyze, since.t))::float8 END,
                last_vacuum IS NULL AND last_autovacuum IS NULL,
                last_analyze IS NULL AND last_autoanalyze IS NULL
           FROM pg_stat_user_tables, since
          WHERE n_dead_tup > 0 OR n_mod_since_analyze > 0
          ORDER BY 1, 2",
        &[],
    )?;
    let mut findings = Vec::new();
    let mut oldest = 0f64;
    for row in &rows {
        let (schema, table): (String, String) = (row.get(0), row.get(1));
        let (dead, modified): (i64, i64) = (row.get(2), row.get(3));
        let ages = [
            (
                "vacuum",
                row.get::<_, Option<f64>>(4),
                row.get::<_, bool>(6),
                dead,
                "dead rows",
            ),
            (
                "analyze",
                row.get::<_, Option<f64>>(5),
                row.get::<_, bool>(7),
                modified,
                "rows changed since",
            ),
        ];
        for (what, age, never, count, counted) in ages {
            let Some(age) = age else { continue };
            oldest = oldest.max(age);
            let status = Status::above(age, config.warning_seconds, config.critical_seconds);
            if status == Status::Ok {
                continue;
            }
            let when = if never {
                format!("never {what}d (watched for {})", human_seconds(age))
            } else {
                format!("last {what}d {} ago", human_seconds(age))
            };
            let mut f = finding(
                &format!("stale-{what}"),
                status,
                format!("table {schema}.{table}"),
                format!("table {schema}.{table} has {count} {counted} and was {when}"),
                json!({"operation": what, "seconds": age, "never": never, "count": count,
                       "warning_seconds": config.warning_seconds, "critical_seconds": config.critical_seconds}),
            );
            let command = if what == "vacuum" {
                "VACUUM (ANALYZE)"
            } else {
                "ANALYZE"
            };
            f.fix_sql = Some(format!("{command} {};", quote_qualified(&schema, &table)));
            findings.push(f);
        }
    }
    let ok = format!(
        "every table vacuumed and analyzed within {}",
        human_seconds(config.warning_seconds)
    );
    Ok(
        CheckReport::from_findings("vacuum_age", findings, ok).with_metrics(vec![Metric::new(
        "vacuum_age_max_seconds",
        "The longest time a table with dead or changed rows has gone without vacuum or analyze.",
        oldest,
    )]),
    )
}
