//! `stale-statistics`: more rows changed since a table's last analyse (or since it was
//! created, when never analysed) than autovacuum's analyse threshold
//! (`autovacuum_analyze_threshold + autovacuum_analyze_scale_factor × rows`, per-table settings
//! honoured). A small table under the threshold is one autovacuum leaves alone too: silent.
//!
//! Why: the planner estimates every query on this table from numbers that are wrong; bad
//! estimates pick bad plans (nested loops over millions of rows). Typical after a bulk load,
//! or with autovacuum off or falling behind. Good: analysed after loads. Fix: `ANALYZE` (what
//! `dbsage maintain` runs).

use postgres::Client;
use serde_json::json;

use super::{finding, Check, Context, Finding, Severity};
use crate::TuneError;

pub(crate) const CHECK: Check = Check {
    id: "stale-statistics",
    run,
};

fn run(_client: &mut Client, ctx: &mut Context) -> Result<Vec<Finding>, TuneError> {
    Ok(ctx
        .tables
        .iter()
        .filter_map(|t| t.stale_reason().map(|reason| (t, reason)))
        .map(|(t, reason)| {
            finding(
                CHECK.id,
                Severity::Warning,
                format!("table {}", t.name),
                format!(
                    "{}: planner statistics are stale ({reason}); estimates for its queries are wrong",
                    t.name
                ),
                json!({
                    "last_analyzed": t.last_analyzed,
                    "modified_since_analyze": t.modified_since_analyze,
                    "analyze_threshold": t.analyze_threshold.round() as i64,
                    "live_rows": t.live_rows,
                }),
                Some(format!("ANALYZE {};", t.name)),
            )
        })
        .collect())
}
