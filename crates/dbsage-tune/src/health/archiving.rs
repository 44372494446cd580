//! `archiving`: WAL archiving (pg_stat_archiver) when `archive_mode` is on: critical when the
//! last attempt failed (a failure newer than the last success), and the count of segments
//! waiting in `archive_status` (check_postgres `archive_ready`; defaults: warning at 10,
//! critical at 50; that count needs `pg_monitor`).

use postgres::Client;
use serde::Deserialize;
use serde_json::json;

use super::{finding, CheckReport, Context, HealthConfig, Metric, Status};

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Segments waiting to be archived.
    pub warning_ready: f64,
    pub critical_ready: f64,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            warning_ready: 10.0,
            critical_ready: 50.0,
        }
    }
}

pub fn check(
    client: &mut Client,
    config: &HealthConfig,
    context: &Context,
) -> Result<CheckReport, postgres::Error> {
    let config = &config.archiving;
    let row = client.query_one(
        "SELECT current_setting('archive_mode'), archived_count, failed_count,
                coalesce(last_failed_wal, ''), coalesce(last_archived_wal, ''),
                coalesce(last_failed_time > last_archived_time OR
                         (last_failed_time IS NOT NULL AND last_archived_time IS NULL), false),
                coalesce(to_char(last_failed_time, 'YYYY-MM-DD HH24:MI:SS TZ'), '')
           FROM pg_stat_archiver",
        &[],
    )?;
    let mode: String = row.get(0);
    if mode == "off" {
        return Ok(CheckReport::new(
            "archiving",
            Status::Ok,
            "archive_mode is off: nothing to archive",
        ));
    }
    let (archived, failed): (i64, i64) = (row.get(1), row.get(2));
    let failing: bool = row.get(5);
    // The archive status directory needs pg_monitor; without it only the failure is judged.
    let ready: Option<i64> = if context.monitor {
        Some(
            client
                .query_one(
                    "SELECT count(*) FROM pg_ls_archive_statusdir() WHERE name LIKE '%.ready'",
                    &[],
                )?
                .get(0),
        )
    } else {
        None
    };
    let mut metrics = vec![
        Metric::new(
            "archive_failed_count",
            "WAL archiving failures since the statistics were reset.",
            failed as f64,
        ),
        Metric::new(
            "archive_archived_count",
            "WAL segments archived since the statistics were reset.",
            archived as f64,
        ),
        Metric::new(
            "archive_failing",
            "1 when the last archiving attempt failed.",
            if failing { 1.0 } else { 0.0 },
        ),
    ];
    if let Some(r) = ready {
        metrics.push(Metric::new(
            "archive_ready_segments",
            "WAL segments waiting to be archived.",
            r as f64,
        ));
    }
    let mut findings = Vec::new();
    if failing {
        let wal: String = row.get(3);
        let at: String = row.get(6);
        findings.push(finding(
            "wal-archiving-failing",
            Status::Critical,
            "archiver",
            format!(
                "WAL archiving is failing: segment {wal} failed at {at} ({failed} failures, {archived} archived); WAL accumulates in pg_wal until archive_command succeeds (see the server log)"
            ),
            json!({"failed_count": failed, "archived_count": archived, "last_failed_wal": wal,
                   "last_failed_time": at, "last_archived_wal": row.get::<_, String>(4),
                   "ready_segments": ready}),
        ));
    }
    if let Some(r) = ready {
        let status = Status::above(r as f64, config.warning_ready, config.critical_ready);
        if status != Status::Ok {
            findings.push(finding(
                "wal-archive-backlog",
                status,
                "archiver",
                format!("{r} WAL segments wait to be archived"),
                json!({"ready_segments": r, "warning_ready": config.warning_ready,
                       "critical_ready": config.critical_ready}),
            ));
        }
    }
    let ok = format!(
        "archiving works: {archived} segments archived, {failed} failures before the last success{}",
        ready.map(|r| format!(", {r} waiting")).unwrap_or_default()
    );
    Ok(CheckReport::from_findings("archiving", findings, ok).with_metrics(metrics))
}
