//! `low-cache-hit-ratio`: less than 95 % of the table (or index) blocks this database read came
//! from shared buffers, over at least 10,000 block reads, on statistics at least
//! `--min-stats-age` old (7 days by default): after a restart the cache is cold, and a bulk
//! load counts every new block as a read, so a young ratio would cry wolf.
//!
//! Why: each miss is a read from the OS cache at best, from disk at worst; a working set that
//! does not fit makes every query slower. Bad: shared_buffers at its 128 MB default on a 16 GB
//! server. Good: above 99 % on an OLTP database. The evidence carries shared_buffers and, when
//! the server lets dbsage read `/proc/meminfo`, its RAM. Fix: raise shared_buffers (about a
//! quarter of RAM; a restart), or shrink the working set (bloat, unused indexes).

use postgres::Client;
use serde_json::json;

use super::{bytes, finding, server_files, Check, Context, Finding, Severity, Withheld};
use crate::TuneError;

pub(crate) const CHECK: Check = Check {
    id: "low-cache-hit-ratio",
    run,
};

pub(crate) const QUERY: &str = concat!(
    "select coalesce(sum(pg_catalog.pg_stat_get_blocks_hit(c.oid)) filter (where c.relkind <> 'i'), 0)::int8 as heap_hit,
       coalesce(sum(pg_catalog.pg_stat_get_blocks_fetched(c.oid) - pg_catalog.pg_stat_get_blocks_hit(c.oid))
                filter (where c.relkind <> 'i'), 0)::int8 as heap_read,
       coalesce(sum(pg_catalog.pg_stat_get_blocks_hit(c.oid)) filter (where c.relkind = 'i'), 0)::int8 as index_hit,
       coalesce(sum(pg_catalog.pg_stat_get_blocks_fetched(c.oid) - pg_catalog.pg_stat_get_blocks_hit(c.oid))
                filter (where c.relkind = 'i'), 0)::int8 as index_read,
       pg_catalog.pg_size_bytes(current_setting('shared_buffers')) as shared_buffers_bytes,
       current_setting('shared_buffers') as shared_buffers,
       pg_catalog.has_function_privilege('pg_catalog.pg_read_file(text)', 'execute') as can_read_meminfo
  from pg_catalog.pg_class c
  join pg_catalog.pg_namespace n on n.oid = c.relnamespace
 where c.relkind in ('r', 'm', 'i') and ",
    project_relation!()
);

const MIN_RATIO: f64 = 0.95;
const MIN_BLOCKS: i64 = 10_000;

fn run(client: &mut Client, ctx: &mut Context) -> Result<Vec<Finding>, TuneError> {
    let min_age = ctx.options.min_stats_age.as_secs_f64();
    if ctx.stats.age_seconds < min_age {
        ctx.withheld.push(Withheld {
            check: CHECK.id.into(),
            object: "database".into(),
            reason: format!(
                "cache hits only cover {} (since {}); the ratio is judged on {:.0} days or more (a cold cache or a bulk load reads every block): pass --min-stats-age to judge anyway",
                ctx.stats.age_text(),
                ctx.stats.since,
                min_age / 86400.0
            ),
        });
        return Ok(Vec::new());
    }
    let row = client
        .query_one(QUERY, &[])
        .map_err(TuneError::db("reading cache hits"))?;
    let shared_buffers: String = row.get("shared_buffers");
    let shared_buffers_bytes: i64 = row.get("shared_buffers_bytes");
    let mut findings = Vec::new();
    for (what, hit, read) in [
        (
            "table",
            row.get::<_, i64>("heap_hit"),
            row.get::<_, i64>("heap_read"),
        ),
        ("index", row.get("index_hit"), row.get("index_read")),
    ] {
        let total = hit + read;
        if total < MIN_BLOCKS {
            continue;
        }
        let ratio = hit as f64 / total as f64;
        if ratio >= MIN_RATIO {
            continue;
        }
        let ram = if row.get("can_read_meminfo") {
            server_files::ram(client).map(|r| r.bytes)
        } else {
            None
        };
        let ram_text = ram
            .map(|r| format!(" of the server's {}", bytes(r)))
            .unwrap_or_default();
        findings.push(finding(
            CHECK.id,
            Severity::Warning,
            format!("{what} cache"),
            format!(
                "{:.1} % of {what} block reads were cache hits ({hit} hits, {read} reads; under {:.0} % means the working set does not fit): shared_buffers is {shared_buffers}{ram_text}",
                ratio * 100.0,
                MIN_RATIO * 100.0
            ),
            json!({
                "hit_ratio": (ratio * 10000.0).round() / 10000.0,
                "blocks_hit": hit,
                "blocks_read": read,
                "shared_buffers_bytes": shared_buffers_bytes,
                "server_ram_bytes": ram,
            }),
            Some(
                "-- a judgement: about a quarter of the server's RAM is the usual start; takes a restart\nALTER SYSTEM SET shared_buffers = '<a quarter of RAM>';"
                    .into(),
            ),
        ));
    }
    Ok(findings)
}
