//! `connections`: client connections in use against `max_connections` (less the slots reserved
//! for superusers), and how many are in each state. Defaults from check_postgres `backends`:
//! warning at 90 %, critical at 95 %.

use postgres::Client;
use serde::Deserialize;
use serde_json::json;

use super::{finding, CheckReport, Context, HealthConfig, Metric, Status};

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Percent of the usable connections in use.
    pub warning_percent: f64,
    pub critical_percent: f64,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            warning_percent: 90.0,
            critical_percent: 95.0,
        }
    }
}

pub fn check(
    client: &mut Client,
    config: &HealthConfig,
    context: &Context,
) -> Result<CheckReport, postgres::Error> {
    let config = &config.connections;
    let limits = client.query_one(
        "SELECT current_setting('max_connections')::int,
                current_setting('superuser_reserved_connections')::int",
        &[],
    )?;
    let (max, reserved): (i32, i32) = (limits.get(0), limits.get(1));
    let usable = f64::from((max - reserved).max(1));
    // Without pg_monitor other roles' sessions show no state: counted as `unknown`.
    let rows = client.query(
        "SELECT coalesce(state, 'unknown'), count(*)
           FROM pg_stat_activity
          WHERE backend_type = 'client backend'
          GROUP BY 1 ORDER BY 1",
        &[],
    )?;
    let by_state: Vec<(String, i64)> = rows.iter().map(|r| (r.get(0), r.get(1))).collect();
    let used: i64 = by_state.iter().map(|(_, n)| n).sum();
    let percent = used as f64 * 100.0 / usable;
    let status = Status::above(percent, config.warning_percent, config.critical_percent);
    let states: serde_json::Map<String, serde_json::Value> = by_state
        .iter()
        .map(|(s, n)| (s.clone(), json!(n)))
        .collect();
    let message = format!(
        "{used} of {usable} usable connections in use ({percent:.1} %; max_connections {max}, {reserved} reserved for superusers; warning at {} %, critical at {} %)",
        config.warning_percent, config.critical_percent
    );
    let mut report = CheckReport::new("connections", status, message.clone());
    if status != Status::Ok {
        report.findings.push(finding(
            "connections",
            status,
            format!("database {}", context.database),
            message,
            json!({"used": used, "max_connections": max, "superuser_reserved_connections": reserved,
                   "percent": percent, "by_state": states}),
        ));
    }
    let mut metrics = vec![
        Metric::new(
            "connections_max",
            "Usable client connections (max_connections less superuser_reserved_connections).",
            usable,
        ),
        Metric::new(
            "connections_used_ratio",
            "Client connections in use over the usable ones.",
            percent / 100.0,
        ),
    ];
    for (state, n) in &by_state {
        metrics.push(
            Metric::new("connections", "Client connections by state.", *n as f64)
                .label("state", state.clone()),
        );
    }
    Ok(report.with_metrics(metrics))
}
