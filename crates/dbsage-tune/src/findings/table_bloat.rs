//! `table-bloat`: a table holding far more pages than its live rows need (dead rows not yet
//! vacuumed, or space freed by deletes and never reused).
//!
//! Why: every sequential scan and every backup reads the waste, and it crowds the cache. Bad:
//! most rows of a log table deleted, autovacuum off for it. Good: vacuumed as it goes. The
//! figure is measured with `pgstattuple_approx` when the pgstattuple extension is installed,
//! else estimated from `pg_stats` column widths (the usual estimate); with stale or missing
//! statistics the estimate is refused, not guessed (reported under `withheld`). Reported at
//! 1 MB and half the table wasted, or more. Fix: `VACUUM` makes the space reusable (what
//! `dbsage maintain` runs); giving it back to the OS takes `VACUUM FULL` (an exclusive lock)
//! or pg_repack.

use postgres::Client;
use serde_json::json;

use super::table_facts::TableFacts;
use super::{bytes, finding, Check, Context, Finding, Severity, Withheld};
use crate::TuneError;

pub(crate) const CHECK: Check = Check {
    id: "table-bloat",
    run,
};

pub(crate) const MIN_WASTE_BYTES: i64 = 1024 * 1024;
pub(crate) const MIN_WASTE_SHARE: f64 = 0.5;

/// Per table of at least `$1` pages: the average stored row width from `pg_stats` (null
/// fractions applied), how many columns have statistics, and the fill factor.
pub(crate) const QUERY: &str = concat!(
    "select c.oid::int8 as table_oid, current_setting('block_size')::int8 as block_size,
       count(a.attnum)::int8 as columns, count(s.attname)::int8 as columns_with_stats,
       coalesce(sum((1 - s.null_frac) * s.avg_width), 0)::float8 as data_width,
       bool_or(not a.attnotnull) as nullable,
       coalesce((select o.option_value::int8 from pg_catalog.pg_options_to_table(c.reloptions) o
                  where o.option_name = 'fillfactor'), 100) as fillfactor,
       exists (select 1 from pg_catalog.pg_extension e where e.extname = 'pgstattuple')
         and has_function_privilege('pgstattuple_approx(regclass)', 'execute') as can_measure
  from pg_catalog.pg_class c
  join pg_catalog.pg_namespace n on n.oid = c.relnamespace
  join pg_catalog.pg_attribute a on a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped
  left join pg_catalog.pg_stats s
    on s.schemaname = n.nspname and s.tablename = c.relname and s.attname = a.attname and not s.inherited
 where c.relkind in ('r', 'm') and c.relpages >= $1::int8 and ",
    project_relation!(),
    "
 group by c.oid"
);

/// Fewer pages than this cannot hide `MIN_WASTE_BYTES` (8 kB blocks): skipped unread.
pub(crate) const MIN_PAGES: i64 = MIN_WASTE_BYTES / 8192;

fn run(client: &mut Client, ctx: &mut Context) -> Result<Vec<Finding>, TuneError> {
    let rows = client.query(QUERY, &[&MIN_PAGES]).map_err(TuneError::db(
        "reading column widths for the bloat estimate",
    ))?;
    let mut findings = Vec::new();
    for r in &rows {
        let oid: i64 = r.get("table_oid");
        let Some(t) = ctx.tables.iter().find(|t| t.oid == oid) else {
            continue;
        };
        let block_size: i64 = r.get("block_size");
        let table_bytes = t.relpages * block_size;
        let (wasted, method, detail) = if r.get::<_, bool>("can_measure") {
            let m = client
                .query_one(
                    "select table_len, dead_tuple_len, approx_free_space from pgstattuple_approx($1::int8::oid::regclass)",
                    &[&oid],
                )
                .map_err(TuneError::db(format!("measuring {} with pgstattuple_approx", t.name)))?;
            let dead: i64 = m.get("dead_tuple_len");
            let free: i64 = m.get("approx_free_space");
            let len: i64 = m.get("table_len");
            (
                dead + free,
                "pgstattuple_approx",
                json!({ "table_bytes": len, "dead_tuple_bytes": dead, "free_bytes": free }),
            )
        } else {
            if let Some(reason) = refusal(t, r.get("columns"), r.get("columns_with_stats")) {
                ctx.withheld.push(Withheld {
                    check: CHECK.id.into(),
                    object: format!("table {}", t.name),
                    reason: format!("no bloat figure for {}: {reason}; run ANALYZE {} (or install pgstattuple) to judge it", t.name, t.name),
                });
                continue;
            }
            let row_width = tuple_width(r.get("data_width"), r.get("nullable"), r.get("columns"));
            let fillfactor: i64 = r.get("fillfactor");
            let usable = (block_size - 24) as f64 * fillfactor as f64 / 100.0;
            let per_page = (usable / (row_width + 4.0)).floor().max(1.0);
            let expected_pages = (t.reltuples.max(0.0) / per_page).ceil() as i64;
            let wasted = (t.relpages - expected_pages).max(0) * block_size;
            (
                wasted,
                "estimate from pg_stats",
                json!({
                    "table_bytes": table_bytes,
                    "pages": t.relpages,
                    "expected_pages": expected_pages,
                    "rows": t.reltuples as i64,
                    "row_width_bytes": row_width.round() as i64,
                }),
            )
        };
        let total = table_bytes.max(1) as f64;
        if wasted >= MIN_WASTE_BYTES && wasted as f64 / total >= MIN_WASTE_SHARE {
            let mut evidence = detail;
            evidence["wasted_bytes"] = json!(wasted);
            evidence["wasted_share"] = json!((wasted as f64 / total * 1000.0).round() / 1000.0);
            evidence["method"] = json!(method);
            evidence["dead_rows"] = json!(t.dead_rows);
            findings.push(finding(
                CHECK.id,
                Severity::Warning,
                format!("table {}", t.name),
                format!(
                    "{} wastes {} of {} ({:.0} %, {method}): scans and backups read it all",
                    t.name,
                    bytes(wasted),
                    bytes(table_bytes),
                    wasted as f64 / total * 100.0
                ),
                evidence,
                Some(format!(
                    "VACUUM (ANALYZE) {};\n-- to give the space back to the OS (exclusive lock for the duration): VACUUM FULL {};",
                    t.name, t.name
                )),
            ));
        }
    }
    Ok(findings)
}

/// Why the estimate cannot be trusted for `t`, if it cannot.
pub(crate) fn refusal(t: &TableFacts, columns: i64, with_stats: i64) -> Option<String> {
    if let Some(stale) = t.stale_reason() {
        return Some(format!("its statistics are stale ({stale})"));
    }
    if with_stats < columns {
        return Some(format!(
            "{} of its {columns} columns have no statistics",
            columns - with_stats
        ));
    }
    None
}

/// A heap tuple's size: the 23-byte header and null bitmap, aligned to 8, then the data.
fn tuple_width(data_width: f64, nullable: bool, columns: i64) -> f64 {
    let bitmap = if nullable {
        ((columns + 7) / 8) as f64
    } else {
        0.0
    };
    let header = ((23.0 + bitmap) / 8.0).ceil() * 8.0;
    header + (data_width / 8.0).ceil() * 8.0
}
