//! `unused-index`: an index scanned fewer than 50 times since statistics began, that enforces
//! nothing (never a primary key, unique, exclusion or constraint index).
//!
//! Why: every write pays to maintain it, it takes cache and backup space, and the planner
//! weighs it on every query. Bad: a `created_at` index nobody's query filters on. Good: every
//! index earns its upkeep. Judged only on statistics at least `--min-stats-age` old (7 days by
//! default): after a reset, a restore or a crash every index looks unused. Fix: `DROP INDEX
//! CONCURRENTLY`, after checking replicas (their scans are not counted here), so `--write`
//! leaves it out.

use postgres::Client;
use serde_json::json;

use super::{bytes, finding, Check, Context, Finding, Severity, Withheld};
use crate::TuneError;

pub(crate) const CHECK: Check = Check {
    id: "unused-index",
    run,
};

/// PgHero's threshold.
const MAX_SCANS: i64 = 50;

fn run(client: &mut Client, ctx: &mut Context) -> Result<Vec<Finding>, TuneError> {
    let min_age = ctx.options.min_stats_age.as_secs_f64();
    if ctx.stats.age_seconds < min_age {
        ctx.withheld.push(Withheld {
            check: CHECK.id.into(),
            object: "database".into(),
            reason: format!(
                "usage statistics only cover {} (since {}, from {}); unused indexes are judged on {:.0} days or more: pass --min-stats-age to judge anyway",
                ctx.stats.age_text(),
                ctx.stats.since,
                ctx.stats.source,
                min_age / 86400.0
            ),
        });
        return Ok(Vec::new());
    }
    ctx
        .indexes
        .iter()
        .filter(|i| i.valid && !i.enforces_something() && i.scans < MAX_SCANS)
        .map(|i| {
            Ok(finding(
                CHECK.id,
                Severity::Warning,
                format!("index {}", i.name),
                format!(
                    "{} on {} was scanned {} times in {} (since {}) and costs {} plus work on every write; check replicas before dropping",
                    i.name,
                    i.table,
                    i.scans,
                    ctx.stats.age_text(),
                    ctx.stats.since,
                    bytes(i.size_bytes)
                ),
                json!({
                    "scans": i.scans,
                    "index_bytes": i.size_bytes,
                    "stats_since": ctx.stats.since,
                    "stats_age_seconds": ctx.stats.age_seconds.round(),
                    "definition": i.definition(client)?,
                }),
                Some(i.drop_sql()),
            ))
        })
        .collect()
}
