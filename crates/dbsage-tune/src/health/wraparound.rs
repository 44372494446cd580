//! `wraparound`: the oldest unfrozen transaction ID of each database, as a percentage of
//! `autovacuum_freeze_max_age` (where autovacuum starts forcing freezes; the server stops
//! assigning IDs near 2^31). Defaults from check_postgres `txn_wraparound`, 1.3 B and 1.4 B
//! transactions, expressed against the default `autovacuum_freeze_max_age` of 200 M: warning
//! at 650 %, critical at 700 %.

use postgres::Client;
use serde::Deserialize;
use serde_json::json;

use super::{finding, CheckReport, Context, HealthConfig, Metric, Status};

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Percent of `autovacuum_freeze_max_age`.
    pub warning_percent: f64,
    pub critical_percent: f64,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            warning_percent: 650.0,
            critical_percent: 700.0,
        }
    }
}

pub fn check(
    client: &mut Client,
    config: &HealthConfig,
    _context: &Context,
) -> Result<CheckReport, postgres::Error> {
    let config = &config.wraparound;
    let rows = client.query(
        "SELECT datname::text, age(datfrozenxid)::int8,
                current_setting('autovacuum_freeze_max_age')::int8
           FROM pg_database ORDER BY 2 DESC",
        &[],
    )?;
    let mut findings = Vec::new();
    let mut metrics = Vec::new();
    let mut oldest: Option<(String, i64, f64)> = None;
    for row in &rows {
        let (database, age, freeze_max): (String, i64, i64) = (row.get(0), row.get(1), row.get(2));
        let percent = age as f64 * 100.0 / freeze_max as f64;
        if oldest.is_none() {
            oldest = Some((database.clone(), age, percent));
        }
        metrics.push(
            Metric::new(
                "xid_age_ratio",
                "Age of the oldest unfrozen transaction ID over autovacuum_freeze_max_age.",
                percent / 100.0,
            )
            .label("datname", database.clone()),
        );
        let status = Status::above(percent, config.warning_percent, config.critical_percent);
        if status == Status::Ok {
            continue;
        }
        let mut f = finding(
            "transaction-id-wraparound",
            status,
            format!("database {database}"),
            format!(
                "database {database}'s oldest unfrozen transaction ID is {age} transactions old, {percent:.1} % of autovacuum_freeze_max_age ({freeze_max}); at 2^31 the server stops accepting writes"
            ),
            json!({"database": database, "age": age, "autovacuum_freeze_max_age": freeze_max,
                   "percent": percent, "warning_percent": config.warning_percent,
                   "critical_percent": config.critical_percent}),
        );
        f.fix_sql = Some(format!(
            "-- in database {database}: freeze its oldest tables (check for long transactions and stale replication slots holding the horizon)\nVACUUM (FREEZE, VERBOSE);"
        ));
        findings.push(f);
    }
    let ok = match &oldest {
        Some((db, age, percent)) => format!(
            "oldest unfrozen transaction ID: {age} transactions in {db} ({percent:.2} % of autovacuum_freeze_max_age; warning at {} %)",
            config.warning_percent
        ),
        None => "no database".into(),
    };
    Ok(CheckReport::from_findings("wraparound", findings, ok).with_metrics(metrics))
}
