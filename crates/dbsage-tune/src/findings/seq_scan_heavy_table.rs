//! `seq-scan-heavy-table`: a table of at least 10,000 rows read mostly by sequential scans
//! (more than half of its scans, and at least 100 of them).
//!
//! Why: each such scan reads every row; on a growing table that is the query that gets slower
//! every week. Bad: `select … from orders where status = 'open'` with no index on `status`,
//! run all day. Good: the frequent filters are indexed. Fix: find the queries (`dbsage tune
//! queries`, `dbsage explain`) and index what they filter on: no SQL is guessed here.

use postgres::Client;
use serde_json::json;

use super::{finding, Check, Context, Finding, Severity};
use crate::TuneError;

pub(crate) const CHECK: Check = Check {
    id: "seq-scan-heavy-table",
    run,
};

const MIN_ROWS: f64 = 10_000.0;
/// Index builds and foreign-key validations scan sequentially too: a few scans prove nothing.
const MIN_SEQ_SCANS: i64 = 100;

fn run(_client: &mut Client, ctx: &mut Context) -> Result<Vec<Finding>, TuneError> {
    Ok(ctx
        .tables
        .iter()
        .filter(|t| {
            t.rows() >= MIN_ROWS && t.seq_scan >= MIN_SEQ_SCANS && t.seq_scan > t.idx_scan
        })
        .map(|t| {
            let share = t.seq_scan as f64 / (t.seq_scan + t.idx_scan) as f64;
            finding(
                CHECK.id,
                Severity::Warning,
                format!("table {}", t.name),
                format!(
                    "{} ({:.0} rows) was read by {} sequential scans against {} index scans ({:.0} % sequential, {} rows read): find the queries with `dbsage tune queries` and index what they filter on",
                    t.name,
                    t.rows(),
                    t.seq_scan,
                    t.idx_scan,
                    share * 100.0,
                    t.seq_tup_read
                ),
                json!({
                    "rows": t.rows() as i64,
                    "seq_scan": t.seq_scan,
                    "seq_tup_read": t.seq_tup_read,
                    "idx_scan": t.idx_scan,
                    "seq_scan_share": (share * 1000.0).round() / 1000.0,
                }),
                None,
            )
        })
        .collect())
}
