//! `database_size`: the database's size and, when an earlier reading is remembered (the CLI
//! keeps one per environment under `.dbsage/`), its growth per day. No threshold by default
//! (a size is only a problem against the disk it sits on): set `warning_bytes` /
//! `critical_bytes` and `warning_growth_bytes_per_day` / `critical_growth_bytes_per_day`.

use postgres::Client;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{finding, human_bytes, CheckReport, Context, HealthConfig, Metric, Status};

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub warning_bytes: Option<f64>,
    pub critical_bytes: Option<f64>,
    pub warning_growth_bytes_per_day: Option<f64>,
    pub critical_growth_bytes_per_day: Option<f64>,
}

/// A size reading, remembered between runs.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Reading {
    pub bytes: i64,
    /// Seconds since the Unix epoch, from the server's clock.
    pub at: f64,
}

/// Growth is only computed over at least this long (two runs seconds apart say nothing).
const MIN_INTERVAL_SECONDS: f64 = 60.0;

/// The current reading (for the caller to remember).
pub fn read(client: &mut Client) -> Result<Reading, postgres::Error> {
    let row = client.query_one(
        "SELECT pg_database_size(current_database()), extract(epoch FROM now())::float8",
        &[],
    )?;
    Ok(Reading {
        bytes: row.get(0),
        at: row.get(1),
    })
}

fn judge(value: f64, warning: Option<f64>, critical: Option<f64>) -> Status {
    if critical.is_some_and(|c| value >= c) {
        Status::Critical
    } else if warning.is_some_and(|w| value >= w) {
        Status::Warning
    } else {
        Status::Ok
    }
}

pub fn check(
    client: &mut Client,
    config: &HealthConfig,
    context: &Context,
) -> Result<CheckReport, postgres::Error> {
    let config = &config.database_size;
    let now = read(client)?;
    let size = now.bytes as f64;
    let mut metrics = vec![Metric::new(
        "database_size_bytes",
        "The database's size on disk.",
        size,
    )];
    let growth = context
        .previous_size
        .filter(|p| now.at - p.at >= MIN_INTERVAL_SECONDS)
        .map(|p| (size - p.bytes as f64) * 86_400.0 / (now.at - p.at));
    let mut message = format!("{} ({} bytes)", human_bytes(size), now.bytes);
    if let Some(g) = growth {
        message.push_str(&format!(", growing {}/day", human_bytes(g.max(0.0))));
        if g < 0.0 {
            message.push_str(" (shrank)");
        }
        metrics.push(Metric::new(
            "database_growth_bytes_per_day",
            "Growth since the previous reading, per day.",
            g,
        ));
    }
    let size_status = judge(size, config.warning_bytes, config.critical_bytes);
    let growth_status = growth.map_or(Status::Ok, |g| {
        judge(
            g,
            config.warning_growth_bytes_per_day,
            config.critical_growth_bytes_per_day,
        )
    });
    let status = size_status.worst(growth_status);
    let mut report = CheckReport::new("database_size", status, message.clone());
    if status != Status::Ok {
        report.findings.push(finding(
            "database-size",
            status,
            format!("database {}", context.database),
            message,
            json!({"bytes": now.bytes, "growth_bytes_per_day": growth,
                   "previous": context.previous_size,
                   "warning_bytes": config.warning_bytes, "critical_bytes": config.critical_bytes,
                   "warning_growth_bytes_per_day": config.warning_growth_bytes_per_day,
                   "critical_growth_bytes_per_day": config.critical_growth_bytes_per_day}),
        ));
    }
    Ok(report.with_metrics(metrics))
}
