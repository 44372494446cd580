//! `replication_slots`: slots nobody consumes keep WAL on the primary's disk (and, for logical
//! slots, the catalog xmin) until it fills. Defaults: an inactive slot is a warning (nobody
//! consumes it: the retained WAL only grows); a slot retaining 1 GB of WAL or more is
//! critical (the default `max_wal_size`: the slot alone holds a checkpoint cycle's worth).

use postgres::Client;
use serde::Deserialize;
use serde_json::json;

use super::{
    finding, human_bytes, quote_ident, CheckReport, Context, HealthConfig, Metric, Status,
};

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// An inactive slot's status (`warning`, `critical`, or `ok` to only judge retained WAL).
    pub inactive: Status,
    pub warning_retained_bytes: f64,
    pub critical_retained_bytes: f64,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            inactive: Status::Warning,
            warning_retained_bytes: 1024.0 * 1024.0 * 1024.0,
            critical_retained_bytes: 1024.0 * 1024.0 * 1024.0,
        }
    }
}

pub fn check(
    client: &mut Client,
    config: &HealthConfig,
    _context: &Context,
) -> Result<CheckReport, postgres::Error> {
    let config = &config.replication_slots;
    let rows = client.query(
        "SELECT slot_name::text, slot_type, coalesce(database::text, ''), active,
                coalesce(pg_wal_lsn_diff(
                    CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn()
                         ELSE pg_current_wal_lsn() END, restart_lsn), 0)::float8
           FROM pg_replication_slots ORDER BY 1",
        &[],
    )?;
    let mut findings = Vec::new();
    let mut metrics = Vec::new();
    for row in &rows {
        let (name, kind, database): (String, String, String) = (row.get(0), row.get(1), row.get(2));
        let active: bool = row.get(3);
        let retained: f64 = row.get(4);
        metrics.push(
            Metric::new(
                "replication_slot_active",
                "1 when a consumer is attached to the slot.",
                if active { 1.0 } else { 0.0 },
            )
            .label("slot", name.clone()),
        );
        metrics.push(
            Metric::new(
                "replication_slot_retained_bytes",
                "WAL the slot keeps on disk, in bytes.",
                retained,
            )
            .label("slot", name.clone()),
        );
        let by_size = Status::above(
            retained,
            config.warning_retained_bytes,
            config.critical_retained_bytes,
        );
        let by_activity = if active { Status::Ok } else { config.inactive };
        let status = by_size.worst(by_activity);
        if status == Status::Ok {
            continue;
        }
        let mut f = finding(
            "replication-slot",
            status,
            format!("replication slot {name}"),
            format!(
                "{kind} replication slot {name} is {} and retains {} of WAL; WAL piles up until a consumer reads it or the slot is dropped",
                if active { "active" } else { "inactive" },
                human_bytes(retained)
            ),
            json!({"slot": name, "slot_type": kind, "database": database, "active": active,
                   "retained_bytes": retained,
                   "warning_retained_bytes": config.warning_retained_bytes,
                   "critical_retained_bytes": config.critical_retained_bytes}),
        );
        f.fix_sql = Some(format!(
            "-- only when nothing will consume it again (a standby or subscriber re-created from scratch needs a new slot)\nSELECT pg_drop_replication_slot('{}');",
            quote_ident(&name).trim_matches('"').replace('\'', "''")
        ));
        findings.push(f);
    }
    let ok = format!("{} replication slots, all in use", rows.len());
    Ok(CheckReport::from_findings("replication_slots", findings, ok).with_metrics(metrics))
}
