//! `index-bloat`: a btree index much larger than its entries need (pages emptied by deletes and
//! updates that btree cannot give back).
//!
//! Why: a bloated index is slower to scan and crowds the cache. Bad: an index on a table whose
//! rows were mostly deleted. Good: near its natural size. With the pgstattuple extension
//! installed (and executable) the figure is measured with `pgstatindex`: empty and deleted
//! pages, and the leaf pages' free share against the index's fill factor (90 by default),
//! whatever the statistics. Otherwise it is the usual estimate from `pg_stats` column widths
//! (entry header, aligned key, line pointer, 90 % leaf fill); with the table's statistics stale
//! or missing, or for expression indexes, the estimate is refused, not guessed. Reported at
//! 1 MB and half the index wasted, or more. Fix: `REINDEX INDEX CONCURRENTLY` (what
//! `dbsage maintain` runs for bloated indexes).

use postgres::Client;
use serde_json::json;

use super::table_bloat::{refusal, MIN_PAGES, MIN_WASTE_BYTES, MIN_WASTE_SHARE};
use super::{bytes, finding, Check, Context, Finding, Severity, Withheld};
use crate::TuneError;

pub(crate) const CHECK: Check = Check {
    id: "index-bloat",
    run,
};

/// Per valid btree index of at least `$1` pages: its pages and entries, and the average width
/// of its key columns from the table's `pg_stats`.
pub(crate) const QUERY: &str = concat!(
    "select i.indexrelid::int8 as index_oid, i.indrelid::int8 as table_oid,
       quote_ident(n.nspname) || '.' || quote_ident(ic.relname) as index_name,
       ic.relpages::int8 as pages, ic.reltuples::float8 as entries,
       current_setting('block_size')::int8 as block_size,
       i.indnatts::int8 as columns, count(s.attname)::int8 as columns_with_stats,
       coalesce(sum((1 - s.null_frac) * s.avg_width), 0)::float8 as key_width,
       i.indexprs is not null as has_expressions,
       coalesce((select o.option_value::float8 from pg_catalog.pg_options_to_table(ic.reloptions) o
                  where o.option_name = 'fillfactor'), 90) as fillfactor,
       exists (select 1 from pg_catalog.pg_extension e where e.extname = 'pgstattuple')
         and has_function_privilege('pgstatindex(regclass)', 'execute') as can_measure,
       (select count(*) from pg_catalog.pg_attribute ta where ta.attrelid = i.indrelid
         and ta.attnum > 0 and not ta.attisdropped)::int8 as table_columns,
       (select count(*) from pg_catalog.pg_stats ts where ts.schemaname = n.nspname
         and ts.tablename = c.relname and not ts.inherited)::int8 as table_columns_with_stats
  from pg_catalog.pg_index i
  join pg_catalog.pg_class ic on ic.oid = i.indexrelid
  join pg_catalog.pg_class c on c.oid = i.indrelid
  join pg_catalog.pg_namespace n on n.oid = c.relnamespace
  join pg_catalog.pg_am am on am.oid = ic.relam and am.amname = 'btree'
  left join lateral unnest(i.indkey::int2[]) k(attnum) on true
  left join pg_catalog.pg_attribute a on a.attrelid = i.indrelid and a.attnum = k.attnum
  left join pg_catalog.pg_stats s
    on s.schemaname = n.nspname and s.tablename = c.relname and s.attname = a.attname and not s.inherited
 where i.indisvalid and ic.relpages >= $1::int8 and c.relkind in ('r', 'm') and ",
    project_relation!(),
    "
 group by i.indexrelid, i.indrelid, n.nspname, ic.relname, ic.reloptions, c.relname, ic.relpages, ic.reltuples, i.indnatts, i.indexprs"
);

fn run(client: &mut Client, ctx: &mut Context) -> Result<Vec<Finding>, TuneError> {
    let rows = client.query(QUERY, &[&MIN_PAGES]).map_err(TuneError::db(
        "reading key widths for the index bloat estimate",
    ))?;
    let mut findings = Vec::new();
    for r in &rows {
        let table_oid: i64 = r.get("table_oid");
        let Some(t) = ctx.tables.iter().find(|t| t.oid == table_oid) else {
            continue;
        };
        let name: String = r.get("index_name");
        if r.get::<_, bool>("can_measure") {
            let index_oid: i64 = r.get("index_oid");
            let fillfactor: f64 = r.get("fillfactor");
            if let Some(f) = measured(client, index_oid, &name, &t.name, fillfactor)? {
                findings.push(f);
            }
            continue;
        }
        let refused = if r.get::<_, bool>("has_expressions") {
            Some("an expression index has no per-column statistics to estimate from".to_string())
        } else if r.get::<_, i64>("columns_with_stats") < r.get::<_, i64>("columns") {
            Some("its key columns have no statistics".to_string())
        } else {
            refusal(t, r.get("table_columns"), r.get("table_columns_with_stats"))
        };
        if let Some(reason) = refused {
            ctx.withheld.push(Withheld {
                check: CHECK.id.into(),
                object: format!("index {name}"),
                reason: format!("no bloat figure for {name}: {reason}"),
            });
            continue;
        }
        let block_size: i64 = r.get("block_size");
        let pages: i64 = r.get("pages");
        let entries: f64 = r.get("entries");
        let key_width: f64 = r.get("key_width");
        // IndexTupleData (8 bytes) + key aligned to 8 + a 4-byte line pointer.
        let entry = 8.0 + (key_width / 8.0).ceil() * 8.0 + 4.0;
        let usable = (block_size - 24 - 16) as f64 * 0.9;
        let per_page = (usable / entry).floor().max(1.0);
        // + the metapage.
        let expected_pages = (entries.max(0.0) / per_page).ceil() as i64 + 1;
        let index_bytes = pages * block_size;
        let wasted = (pages - expected_pages).max(0) * block_size;
        let share = wasted as f64 / index_bytes.max(1) as f64;
        if wasted < MIN_WASTE_BYTES || share < MIN_WASTE_SHARE {
            continue;
        }
        findings.push(finding(
            CHECK.id,
            Severity::Warning,
            format!("index {name}"),
            format!(
                "{name} on {} wastes about {} of {} ({:.0} %, estimate from pg_stats)",
                t.name,
                bytes(wasted),
                bytes(index_bytes),
                share * 100.0
            ),
            json!({
                "index_bytes": index_bytes,
                "pages": pages,
                "expected_pages": expected_pages,
                "entries": entries as i64,
                "wasted_bytes": wasted,
                "wasted_share": (share * 1000.0).round() / 1000.0,
                "method": "estimate from pg_stats",
            }),
            Some(format!("REINDEX INDEX CONCURRENTLY {name};")),
        ));
    }
    Ok(findings)
}

/// The index measured with `pgstatindex`: empty and deleted pages are wasted whole, and each
/// leaf page holds `1 - density / fillfactor` of a page more free space than a fresh build
/// leaves.
fn measured(
    client: &mut Client,
    index_oid: i64,
    name: &str,
    table: &str,
    fillfactor: f64,
) -> Result<Option<Finding>, TuneError> {
    let m = client
        .query_one(
            "select index_size, leaf_pages, empty_pages, deleted_pages, avg_leaf_density::float8,
                    current_setting('block_size')::int8 as block_size
               from pgstatindex($1::int8::oid::regclass)",
            &[&index_oid],
        )
        .map_err(TuneError::db(format!("measuring {name} with pgstatindex")))?;
    let index_bytes: i64 = m.get("index_size");
    let block_size: i64 = m.get("block_size");
    let leaf_pages: i64 = m.get("leaf_pages");
    let empty_pages: i64 = m.get("empty_pages");
    let deleted_pages: i64 = m.get("deleted_pages");
    // NaN on an index without leaf entries.
    let density: f64 = m.get("avg_leaf_density");
    let density = if density.is_nan() { 0.0 } else { density };
    let leaf_waste = leaf_pages as f64 * (1.0 - density / fillfactor).max(0.0);
    let wasted = ((empty_pages + deleted_pages) as f64 + leaf_waste) as i64 * block_size;
    let share = wasted as f64 / index_bytes.max(1) as f64;
    if wasted < MIN_WASTE_BYTES || share < MIN_WASTE_SHARE {
        return Ok(None);
    }
    Ok(Some(finding(
        CHECK.id,
        Severity::Warning,
        format!("index {name}"),
        format!(
            "{name} on {table} wastes {} of {} ({:.0} %, measured with pgstatindex: leaves {density:.0} % full against a fill factor of {fillfactor:.0})",
            bytes(wasted),
            bytes(index_bytes),
            share * 100.0
        ),
        json!({
            "index_bytes": index_bytes,
            "leaf_pages": leaf_pages,
            "empty_pages": empty_pages,
            "deleted_pages": deleted_pages,
            "avg_leaf_density": density,
            "fillfactor": fillfactor,
            "wasted_bytes": wasted,
            "wasted_share": (share * 1000.0).round() / 1000.0,
            "method": "pgstatindex",
        }),
        Some(format!("REINDEX INDEX CONCURRENTLY {name};")),
    )))
}
