//! `cache_hit`: the share of block reads served from shared buffers in this database since its
//! statistics were reset. Defaults: warning under 98.5 % (pg-extras), critical under 94 %
//! (Supabase); not judged before 10,000 block reads (a cold start is not a problem).

use postgres::Client;
use serde::Deserialize;
use serde_json::json;

use super::{finding, CheckReport, Context, HealthConfig, Metric, Status};

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub warning_ratio: f64,
    pub critical_ratio: f64,
    /// Below this many block reads (hits + misses) the ratio is not judged.
    pub min_blocks: i64,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            warning_ratio: 0.985,
            critical_ratio: 0.94,
            min_blocks: 10_000,
        }
    }
}

pub fn check(
    client: &mut Client,
    config: &HealthConfig,
    context: &Context,
) -> Result<CheckReport, postgres::Error> {
    let config = &config.cache_hit;
    let row = client.query_one(
        "SELECT coalesce(blks_hit, 0), coalesce(blks_read, 0)
           FROM pg_stat_database WHERE datname = current_database()",
        &[],
    )?;
    let (hit, read): (i64, i64) = (row.get(0), row.get(1));
    let total = hit + read;
    let ratio = if total == 0 {
        1.0
    } else {
        hit as f64 / total as f64
    };
    let metrics = vec![
        Metric::new(
            "cache_hit_ratio",
            "Block reads served from shared buffers over all block reads.",
            ratio,
        ),
        Metric::new(
            "blocks_read",
            "Block reads (hits and misses) since the statistics were reset.",
            total as f64,
        ),
    ];
    if total < config.min_blocks {
        let message = format!(
            "{:.2} % of {total} block reads from the cache: too few to judge (min_blocks {})",
            ratio * 100.0,
            config.min_blocks
        );
        return Ok(CheckReport::new("cache_hit", Status::Ok, message).with_metrics(metrics));
    }
    let status = Status::below(ratio, config.warning_ratio, config.critical_ratio);
    let message = format!(
        "{:.2} % of {total} block reads came from the cache (warning under {} %, critical under {} %)",
        ratio * 100.0,
        config.warning_ratio * 100.0,
        config.critical_ratio * 100.0
    );
    let mut report = CheckReport::new("cache_hit", status, message.clone());
    if status != Status::Ok {
        let mut f = finding(
            "low-cache-hit-ratio",
            status,
            format!("database {}", context.database),
            format!("{message}: the working set does not fit in shared_buffers, or large scans evict it"),
            json!({"blks_hit": hit, "blks_read": read, "ratio": ratio}),
        );
        f.fix_sql = Some(
            "-- look for sequential scans on large tables first (dbsage tune); then raise shared_buffers\nSHOW shared_buffers;"
                .into(),
        );
        report.findings.push(f);
    }
    Ok(report.with_metrics(metrics))
}
