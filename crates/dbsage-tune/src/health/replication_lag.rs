//! `replication_lag`: on a primary, how far each standby's replay is behind (bytes of WAL, and
//! `replay_lag` time when the standby reports it); on a standby, how far its own replay is
//! behind what it received. Defaults: warning at 16 MB (one WAL segment: the standby is a
//! whole segment behind) or 60 s (as long-running queries), critical at 256 MB (sixteen
//! segments, a quarter of the default `max_wal_size`) or 5 min (a failover would lose or wait
//! for that much). Needs `pg_monitor` (pg_stat_replication hides positions otherwise).

use postgres::Client;
use serde::Deserialize;
use serde_json::json;

use super::{
    finding, human_bytes, human_seconds, needs_monitor, CheckReport, Context, HealthConfig, Metric,
    Status,
};

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub warning_bytes: f64,
    pub critical_bytes: f64,
    pub warning_seconds: f64,
    pub critical_seconds: f64,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            warning_bytes: 16.0 * 1024.0 * 1024.0,
            critical_bytes: 256.0 * 1024.0 * 1024.0,
            warning_seconds: 60.0,
            critical_seconds: 300.0,
        }
    }
}

pub fn check(
    client: &mut Client,
    config: &HealthConfig,
    context: &Context,
) -> Result<CheckReport, postgres::Error> {
    if !context.monitor {
        return Ok(needs_monitor(
            "replication_lag",
            "the replication positions",
        ));
    }
    let config = &config.replication_lag;
    let in_recovery: bool = client.query_one("SELECT pg_is_in_recovery()", &[])?.get(0);
    let rows = if in_recovery {
        // A standby: received but not yet replayed, and the age of the last replayed commit.
        client.query(
            "SELECT 'this standby', coalesce(status, 'not streaming'),
                    coalesce(pg_wal_lsn_diff(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn()), 0)::float8,
                    extract(epoch FROM now() - pg_last_xact_replay_timestamp())::float8,
                    pg_is_wal_replay_paused()
               FROM (SELECT 1) one LEFT JOIN pg_stat_wal_receiver ON true",
            &[],
        )?
    } else {
        client.query(
            "SELECT coalesce(nullif(application_name, ''), client_addr::text, pid::text), state,
                    coalesce(pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn), 0)::float8,
                    extract(epoch FROM replay_lag)::float8, false
               FROM pg_stat_replication ORDER BY 1",
            &[],
        )?
    };
    let mut findings = Vec::new();
    let mut metrics = Vec::new();
    for row in &rows {
        let (name, state): (String, String) = (row.get(0), row.get(1));
        let bytes: f64 = row.get(2);
        let seconds: Option<f64> = row.get(3);
        let paused: bool = row.get(4);
        metrics.push(
            Metric::new(
                "replication_lag_bytes",
                "WAL not yet replayed by a standby, in bytes.",
                bytes,
            )
            .label("standby", name.clone()),
        );
        if let Some(s) = seconds {
            metrics.push(
                Metric::new(
                    "replication_lag_seconds",
                    "How far a standby's replay is behind, in seconds.",
                    s,
                )
                .label("standby", name.clone()),
            );
        }
        // On a standby with no recent commit the replay timestamp says nothing about lag.
        let judged_seconds = if in_recovery && bytes == 0.0 {
            None
        } else {
            seconds
        };
        let status = Status::above(bytes, config.warning_bytes, config.critical_bytes).worst(
            judged_seconds.map_or(Status::Ok, |s| {
                Status::above(s, config.warning_seconds, config.critical_seconds)
            }),
        );
        if status == Status::Ok {
            continue;
        }
        let time = judged_seconds
            .map(|s| format!(", {} behind", human_seconds(s)))
            .unwrap_or_default();
        findings.push(finding(
            "replication-lag",
            status,
            format!("standby {name}"),
            format!(
                "standby {name} ({state}) has {} of WAL not replayed{time}{}",
                human_bytes(bytes),
                if paused { "; replay is paused (pg_wal_replay_resume())" } else { "" }
            ),
            json!({"standby": name, "state": state, "lag_bytes": bytes, "lag_seconds": seconds,
                   "replay_paused": paused, "in_recovery": in_recovery,
                   "warning_bytes": config.warning_bytes, "critical_bytes": config.critical_bytes,
                   "warning_seconds": config.warning_seconds, "critical_seconds": config.critical_seconds}),
        ));
    }
    let ok = match (in_recovery, rows.len()) {
        (false, 0) => "no standby connected".to_string(),
        (false, n) => format!(
            "{n} standbys, all within {}",
            human_bytes(config.warning_bytes)
        ),
        (true, _) => "this standby's replay keeps up".to_string(),
    };
    Ok(CheckReport::from_findings("replication_lag", findings, ok).with_metrics(metrics))
}
