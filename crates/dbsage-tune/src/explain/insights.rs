//! What a plan says is wrong, one function per insight (names after pganalyze's), each a
//! finding with the plan's numbers as evidence. Thresholds are constants with their reason.

use dbsage_catalog::finding::{Finding, Severity};
use serde_json::json;

use super::tree::PlanNode;

/// A table is large from this many rows (PgHero suggests indexes from 500; a sequential scan of
/// 10,000 rows starts to show).
pub const LARGE_TABLE_ROWS: f64 = 10_000.0;
/// A filter is selective when it keeps at most this share of the rows.
pub const SELECTIVE: f64 = 0.1;
/// Estimates off by this factor are mis-estimates (pgAdmin marks 10×/100×/1000×).
pub const MISESTIMATE_FACTOR: f64 = 10.0;
/// Mis-estimates are judged from this many rows on either side.
pub const MISESTIMATE_MIN_ROWS: f64 = 100.0;
/// Rows removed by a filter worth saying: at least this many, and most of what was read.
pub const REMOVED_MIN_ROWS: f64 = 1_000.0;
/// A nested loop whose outer side yields this many rows runs its inner side that often.
pub const NESTED_LOOP_OUTER_ROWS: f64 = 10_000.0;
/// OFFSET from which the skipped rows dominate.
pub const LARGE_OFFSET: i64 = 1_000;
/// Reads from outside shared buffers worth saying: at least this many blocks, and most of them.
pub const DISK_READ_MIN_BLOCKS: i64 = 500;

fn finding(check: &str, severity: Severity, node: &PlanNode, message: String) -> Finding {
    Finding {
        check: check.into(),
        severity,
        object: node.label.clone(),
        message,
        evidence: json!({}),
        fix_sql: None,
    }
}

/// A sequential scan of a large table whose filter keeps few rows: an index candidate. The
/// caller costs the candidate (hypopg) and fills `fix_sql`.
pub fn seq_scan_selective_filter(node: &PlanNode, table_rows: f64) -> Option<Finding> {
    if node.node_type != "Seq Scan" || node.filter.is_none() || table_rows < LARGE_TABLE_ROWS {
        return None;
    }
    let kept = node.rows_total();
    let share = kept / table_rows.max(1.0);
    if share > SELECTIVE {
        return None;
    }
    Some(
        finding(
            "seq-scan-selective-filter",
            Severity::Warning,
            node,
            format!(
                "reads all {table_rows:.0} rows to keep {kept:.0} ({:.2} %): an index on the filtered columns would read only those",
                100.0 * share
            ),
        )
        .with_evidence(json!({
            "table_rows": table_rows,
            "rows_kept": kept,
            "filter": node.filter,
        })),
    )
}

/// The planner's row estimate off by ≥ 10× from what the node returned.
pub fn misestimate(node: &PlanNode) -> Option<Finding> {
    let actual = node.actual_rows?;
    let estimated = node.plan_rows;
    if actual.max(estimated) < MISESTIMATE_MIN_ROWS {
        return None;
    }
    let factor = actual.max(1.0) / estimated.max(1.0);
    let off = factor.max(1.0 / factor);
    if off < MISESTIMATE_FACTOR {
        return None;
    }
    let direction = if factor > 1.0 { "under" } else { "over" };
    let mut f = finding(
        "mis-estimate",
        Severity::Warning,
        node,
        format!(
            "the planner expected {estimated:.0} rows and got {actual:.0} ({off:.0}× {direction}-estimated): plans above it are chosen on a wrong count; ANALYZE the table, or create extended statistics when the filtered columns depend on each other"
        ),
    )
    .with_evidence(json!({ "estimated_rows": estimated, "actual_rows": actual, "factor": off }));
    if let (Some(schema), Some(rel)) = (&node.schema, &node.relation) {
        f.fix_sql = Some(format!(
            "ANALYZE {};\n-- when the filtered columns are correlated:\n-- CREATE STATISTICS ON col_a, col_b FROM {0}; ANALYZE {0};",
            qualified(schema, rel)
        ));
    }
    Some(f)
}

/// Most of the rows a node read were thrown away by its filter (not a sequential scan already
/// reported as an index candidate).
pub fn rows_removed_by_filter(node: &PlanNode) -> Option<Finding> {
    let removed = node.rows_removed_by_filter? * node.loops.unwrap_or(1.0);
    let kept = node.rows_total();
    if removed < REMOVED_MIN_ROWS || removed / (removed + kept) < 0.9 {
        return None;
    }
    Some(
        finding(
            "rows-removed-by-filter",
            Severity::Info,
            node,
            format!(
                "read {:.0} rows and threw away {removed:.0} ({:.0} %) with its filter: an index (or a better one) on the filtered columns would skip them",
                removed + kept,
                100.0 * removed / (removed + kept)
            ),
        )
        .with_evidence(json!({ "rows_removed": removed, "rows_kept": kept, "filter": node.filter })),
    )
}

/// A sort or hash that did not fit in work_mem and went to disk.
pub fn spill(node: &PlanNode) -> Option<Finding> {
    let raw = &node.raw;
    if raw["Sort Space Type"].as_str() == Some("Disk") {
        let kb = raw["Sort Space Used"].as_f64().unwrap_or(0.0);
        let mut f = finding(
            "disk-sort",
            Severity::Warning,
            node,
            format!(
                "sorted on disk ({kb:.0} kB, {}): work_mem is too small for it",
                raw["Sort Method"].as_str().unwrap_or("external")
            ),
        )
        .with_evidence(json!({ "sort_space_kb": kb, "sort_method": raw["Sort Method"] }));
        f.fix_sql = Some(format!(
            "SET work_mem = '{}MB';  -- for this session or role; an index on the sort keys avoids the sort",
            (kb * 2.0 / 1024.0).ceil().max(4.0)
        ));
        return Some(f);
    }
    let batches = raw["Hash Batches"].as_f64().unwrap_or(1.0);
    if batches > 1.0 {
        let kb = raw["Peak Memory Usage"].as_f64().unwrap_or(0.0);
        let mut f = finding(
            "hash-spill",
            Severity::Warning,
            node,
            format!("hashed in {batches:.0} batches written to disk: work_mem is too small for it"),
        )
        .with_evidence(json!({ "hash_batches": batches, "peak_memory_kb": kb }));
        f.fix_sql = Some(format!(
            "SET work_mem = '{}MB';  -- for this session or role",
            (kb * batches * 2.0 / 1024.0).ceil().max(4.0)
        ));
        return Some(f);
    }
    None
}

/// A bitmap heap scan whose bitmap went lossy (pages, not rows): every row of those pages is
/// rechecked.
pub fn lossy_bitmap(node: &PlanNode) -> Option<Finding> {
    let lossy = node.raw["Lossy Heap Blocks"].as_f64()?;
    if lossy <= 0.0 {
        return None;
    }
    let exact = node.raw["Exact Heap Blocks"].as_f64().unwrap_or(0.0);
    Some(
        finding(
            "lossy-bitmap",
            Severity::Warning,
            node,
            format!(
                "{lossy:.0} of {:.0} heap blocks were lossy: the bitmap outgrew work_mem and every row of those pages was rechecked",
                lossy + exact
            ),
        )
        .with_evidence(json!({
            "lossy_blocks": lossy,
            "exact_blocks": exact,
            "rows_removed_by_recheck": node.raw["Rows Removed by Index Recheck"],
        })),
    )
}

/// A nested loop driven by a large outer side: the inner side runs once per outer row.
pub fn nested_loop_large_outer(node: &PlanNode) -> Option<Finding> {
    if node.node_type != "Nested Loop" {
        return None;
    }
    let outer = node.children.first()?;
    let rows = outer.rows_total();
    if rows < NESTED_LOOP_OUTER_ROWS {
        return None;
    }
    Some(
        finding(
            "nested-loop-large-outer",
            Severity::Warning,
            node,
            format!(
                "the inner side ran once for each of {rows:.0} outer rows ({}): a hash or merge join reads each side once; check the estimates and the join columns' indexes",
                outer.label
            ),
        )
        .with_evidence(json!({ "outer_rows": rows, "outer": outer.label })),
    )
}

/// Reads from outside shared buffers (the OS cache or disk) dominating the statement.
pub fn disk_reads(top: &PlanNode) -> Option<Finding> {
    let read = top.shared_read_blocks?;
    let hit = top.shared_hit_blocks.unwrap_or(0);
    if read < DISK_READ_MIN_BLOCKS || (read as f64) < 0.5 * (read + hit) as f64 {
        return None;
    }
    Some(
        finding(
            "disk-reads",
            Severity::Info,
            top,
            format!(
                "read {read} blocks ({} MB) from outside shared buffers and found {hit} in them: the data was not cached; a narrower index, or a larger shared_buffers, keeps it in memory",
                read * 8 / 1024
            ),
        )
        .with_evidence(json!({ "shared_read_blocks": read, "shared_hit_blocks": hit })),
    )
}

/// `OFFSET n` with a large n: the skipped rows are produced and thrown away.
pub fn large_offset(node: &PlanNode, offset: i64) -> Option<Finding> {
    if offset < LARGE_OFFSET {
        return None;
    }
    Some(
        finding(
            "large-offset",
            Severity::Warning,
            node,
            format!(
                "OFFSET {offset} makes the server produce {offset} rows only to skip them, and it grows with each page: paginate by key instead (WHERE sort_key > last_seen ORDER BY sort_key LIMIT n)"
            ),
        )
        .with_evidence(json!({ "offset": offset })),
    )
}

pub(crate) fn qualified(schema: &str, rel: &str) -> String {
    format!(
        "{}.{}",
        dbsage_sql::quote_ident(schema),
        dbsage_sql::quote_ident(rel)
    )
}
