//! `dbsage tune`: problems in a live database's indexes, tables, sequences and settings, each a
//! [`Finding`] with the numbers behind the verdict in `evidence` and the fix in `fix_sql`.
//!
//! One file per check (its id, why it matters, the bad and the good case, the fix). The
//! catalog is read in a few set-wide queries (indexes and tables once, shared by the checks that
//! need them), never one query per object, so the time stays flat on thousands of tables.
//! Read only: nothing here writes.
//!
//! Silence on a healthy database is part of the contract: a check that cannot judge (statistics
//! too young or stale) says so in [`TuneReport::withheld`] instead of guessing.

use std::time::Duration;

use postgres::Client;
use serde::Serialize;

pub use dbsage_catalog::finding::{Finding, Severity};

use crate::TuneError;

/// A condition on `n` (pg_namespace) and `c` (pg_class): objects that are the project's to fix,
/// not the system's and not an extension's. A macro so that queries stay `concat!` literals.
/// The extension members are one hashed set (`not in`), not a pg_depend probe per row: on
/// 6,000 indexes the probe was a third of the index query.
macro_rules! project_relation {
    () => {
        "n.nspname not in ('pg_catalog', 'information_schema') \
         and n.nspname !~ '^pg_(toast|temp_|toast_temp_)' \
         and c.oid not in (select d.objid from pg_catalog.pg_depend d \
             where d.classid = 'pg_catalog.pg_class'::regclass and d.deptype = 'e')"
    };
}

mod duplicate_index;
mod index_bloat;
mod index_facts;
mod invalid_index;
mod low_cache_hit_ratio;
mod no_primary_key;
mod redundant_index;
mod seq_scan_heavy_table;
mod sequence_near_limit;
mod server_files;
mod setting_random_page_cost;
mod setting_shared_buffers;
mod settings;
mod stale_statistics;
mod stats_window;
mod table_bloat;
pub(crate) mod table_facts;
mod unindexed_foreign_key;
mod unused_index;
pub mod write;

pub use stats_window::StatsWindow;

/// What `tune` judges against.
#[derive(Debug, Clone)]
pub struct TuneOptions {
    /// How old the usage statistics must be before `unused-index` judges (default 7 days: an
    /// index used weekly looks unused the day after a reset or a restore).
    pub min_stats_age: Duration,
}

impl Default for TuneOptions {
    fn default() -> Self {
        TuneOptions {
            min_stats_age: Duration::from_secs(7 * 24 * 3600),
        }
    }
}

/// A check that did not judge, and why (statistics too young, stale or unreadable).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Withheld {
    pub check: String,
    /// The object, or `database` when the whole check was withheld.
    pub object: String,
    pub reason: String,
}

/// Everything `tune` found: `{"findings": [...], "withheld": [...], "statistics": {...}}`.
#[derive(Debug, Clone, Serialize)]
pub struct TuneReport {
    pub findings: Vec<Finding>,
    pub withheld: Vec<Withheld>,
    /// Since when the usage counters have been collected.
    pub statistics: StatsWindow,
}

/// What every check may look at: the rows of the set-wide queries.
pub(crate) struct Context {
    pub options: TuneOptions,
    pub stats: StatsWindow,
    pub indexes: Vec<index_facts::IndexFacts>,
    pub tables: Vec<table_facts::TableFacts>,
    pub withheld: Vec<Withheld>,
}

pub(crate) struct Check {
    pub id: &'static str,
    pub run: fn(&mut Client, &mut Context) -> Result<Vec<Finding>, TuneError>,
}

const CHECKS: &[Check] = &[
    unindexed_foreign_key::CHECK,
    unused_index::CHECK,
    duplicate_index::CHECK,
    redundant_index::CHECK,
    invalid_index::CHECK,
    no_primary_key::CHECK,
    seq_scan_heavy_table::CHECK,
    stale_statistics::CHECK,
    table_bloat::CHECK,
    index_bloat::CHECK,
    sequence_near_limit::CHECK,
    low_cache_hit_ratio::CHECK,
    settings::CHECK,
    setting_random_page_cost::CHECK,
    setting_shared_buffers::CHECK,
];

/// The ids of every check, in report order.
pub fn check_ids() -> Vec<&'static str> {
    CHECKS.iter().map(|c| c.id).collect()
}

/// Every catalog query `tune` runs, in order (the benchmark runs the same ones through psql).
pub fn catalog_queries() -> Vec<&'static str> {
    vec![
        stats_window::QUERY,
        index_facts::QUERY,
        table_facts::QUERY,
        unindexed_foreign_key::QUERY,
        table_bloat::QUERY,
        index_bloat::QUERY,
        sequence_near_limit::QUERY,
        sequence_near_limit::KEY_QUERY,
        low_cache_hit_ratio::QUERY,
        settings::QUERY,
        setting_random_page_cost::QUERY,
        setting_shared_buffers::QUERY,
    ]
}

/// Runs every check, read only, in one repeatable-read transaction (one consistent view).
pub fn tune(client: &mut Client, options: &TuneOptions) -> Result<TuneReport, TuneError> {
    client
        .batch_execute("begin isolation level repeatable read read only")
        .map_err(TuneError::db("starting a read-only transaction"))?;
    let result = run_checks(client, options);
    let end = if result.is_ok() { "commit" } else { "rollback" };
    client
        .batch_execute(end)
        .map_err(TuneError::db("ending the read-only transaction"))?;
    result
}

fn run_checks(client: &mut Client, options: &TuneOptions) -> Result<TuneReport, TuneError> {
    let stats = stats_window::read(client)?;
    let indexes = index_facts::read(client)?;
    let tables = table_facts::read(client)?;
    let mut ctx = Context {
        options: options.clone(),
        stats,
        indexes,
        tables,
        withheld: Vec::new(),
    };
    let mut findings = Vec::new();
    for check in CHECKS {
        findings.extend((check.run)(client, &mut ctx)?);
    }
    findings
        .sort_by(|a, b| (a.severity, &a.check, &a.object).cmp(&(b.severity, &b.check, &b.object)));
    Ok(TuneReport {
        findings,
        withheld: ctx.withheld,
        statistics: ctx.stats,
    })
}

/// A finding with its evidence.
pub(crate) fn finding(
    check: &str,
    severity: Severity,
    object: String,
    message: String,
    evidence: serde_json::Value,
    fix_sql: Option<String>,
) -> Finding {
    Finding {
        check: check.to_string(),
        severity,
        object,
        message,
        evidence,
        fix_sql,
    }
}

/// `12.3 MB`, for messages.
pub(crate) fn bytes(n: i64) -> String {
    let n = n as f64;
    if n >= 1024.0 * 1024.0 * 1024.0 {
        format!("{:.1} GB", n / (1024.0 * 1024.0 * 1024.0))
    } else if n >= 1024.0 * 1024.0 {
        format!("{:.1} MB", n / (1024.0 * 1024.0))
    } else if n >= 1024.0 {
        format!("{:.0} kB", n / 1024.0)
    } else {
        format!("{n} bytes")
    }
}
