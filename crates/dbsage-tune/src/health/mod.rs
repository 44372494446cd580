//! `dbsage health`: monitoring checks on a live database, each with warning and critical
//! thresholds (`[health]` in dbsage.toml; defaults from check_postgres and PgHero, documented
//! on each check's config), a status per check as monitoring plugins expect it, the offending
//! objects as [`Finding`]s and gauges for Prometheus.
//!
//! One module per check. A check that fails (most often: the role lacks `pg_monitor`) is
//! `unknown` with the reason; the others still run.

pub mod alerts;
pub mod archiving;
pub mod backup_drill;
pub mod blocking;
pub mod cache_hit;
pub mod config;
pub mod connections;
pub mod database_size;
pub mod dead_tuples;
pub mod idle_in_transaction;
pub mod invalid_indexes;
pub mod long_running;
pub mod prometheus;
pub mod replication_lag;
pub mod replication_slots;
pub mod sequences;
pub mod vacuum_age;
pub mod wraparound;

use dbsage_catalog::finding::{Finding, Severity};
use postgres::Client;
use serde::{Deserialize, Serialize};

pub use config::{HealthConfig, SecondsThresholds};

/// A check's state, ordered by how much it needs attention, with the exit codes of monitoring
/// plugins (Nagios, check_postgres): 0 ok, 1 warning, 2 critical, 3 unknown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Ok,
    Warning,
    Critical,
    Unknown,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Warning => "warning",
            Status::Critical => "critical",
            Status::Unknown => "unknown",
        }
    }

    pub fn exit_code(self) -> i32 {
        match self {
            Status::Ok => 0,
            Status::Warning => 1,
            Status::Critical => 2,
            Status::Unknown => 3,
        }
    }

    /// Critical outranks warning, which outranks unknown (a check that could not run), which
    /// outranks ok: the overall status is the most urgent one.
    fn rank(self) -> u8 {
        match self {
            Status::Ok => 0,
            Status::Unknown => 1,
            Status::Warning => 2,
            Status::Critical => 3,
        }
    }

    pub fn worst(self, other: Status) -> Status {
        if other.rank() > self.rank() {
            other
        } else {
            self
        }
    }

    /// `value` against thresholds where more is worse.
    pub fn above(value: f64, warning: f64, critical: f64) -> Status {
        if value >= critical {
            Status::Critical
        } else if value >= warning {
            Status::Warning
        } else {
            Status::Ok
        }
    }

    /// `value` against thresholds where less is worse.
    pub fn below(value: f64, warning: f64, critical: f64) -> Status {
        if value < critical {
            Status::Critical
        } else if value < warning {
            Status::Warning
        } else {
            Status::Ok
        }
    }

    /// The finding severity of an object in this state (critical is an error).
    pub fn severity(self) -> Severity {
        match self {
            Status::Critical => Severity::Error,
            Status::Warning => Severity::Warning,
            Status::Ok | Status::Unknown => Severity::Info,
        }
    }
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One gauge sample: `dbsage_health_<name>{labels} value`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Metric {
    /// Without the `dbsage_health_` prefix: `connections`, `cache_hit_ratio`, …
    pub name: &'static str,
    #[serde(skip)]
    pub help: &'static str,
    pub labels: std::collections::BTreeMap<String, String>,
    pub value: f64,
}

impl Metric {
    pub fn new(name: &'static str, help: &'static str, value: f64) -> Metric {
        Metric {
            name,
            help,
            labels: Default::default(),
            value,
        }
    }

    pub fn label(mut self, key: &str, value: impl Into<String>) -> Metric {
        self.labels.insert(key.to_string(), value.into());
        self
    }
}

/// What one check found.
#[derive(Debug, Clone, Serialize)]
pub struct CheckReport {
    pub check: &'static str,
    pub status: Status,
    /// One line: the figure and the threshold it was judged by, or why the check did not run.
    pub message: String,
    /// The objects at warning or critical, in the shared finding shape.
    pub findings: Vec<Finding>,
    pub metrics: Vec<Metric>,
}

impl CheckReport {
    pub fn new(check: &'static str, status: Status, message: impl Into<String>) -> CheckReport {
        CheckReport {
            check,
            status,
            message: message.into(),
            findings: Vec::new(),
            metrics: Vec::new(),
        }
    }

    /// The status of the worst finding (ok when there is none).
    pub fn from_findings(
        check: &'static str,
        findings: Vec<Finding>,
        ok_message: impl Into<String>,
    ) -> CheckReport {
        let status = findings
            .iter()
            .map(|f| match f.severity {
                Severity::Error => Status::Critical,
                Severity::Warning => Status::Warning,
                Severity::Info => Status::Ok,
            })
            .fold(Status::Ok, Status::worst);
        let message = match findings.len() {
            0 => ok_message.into(),
            1 => findings[0].message.clone(),
            n => format!("{n} problems; worst: {}", worst_message(&findings)),
        };
        CheckReport {
            check,
            status,
            message,
            findings,
            metrics: Vec::new(),
        }
    }

    pub fn with_metrics(mut self, metrics: Vec<Metric>) -> CheckReport {
        self.metrics = metrics;
        self
    }
}

fn worst_message(findings: &[Finding]) -> String {
    findings
        .iter()
        .min_by_key(|f| f.severity)
        .map(|f| f.message.clone())
        .unwrap_or_default()
}

/// A finding of a health check.
pub fn finding(
    check: &str,
    status: Status,
    object: impl Into<String>,
    message: impl Into<String>,
    evidence: serde_json::Value,
) -> Finding {
    Finding {
        check: check.to_string(),
        severity: status.severity(),
        object: object.into(),
        message: message.into(),
        evidence,
        fix_sql: None,
    }
}

/// The result of every check.
#[derive(Debug, Clone, Serialize)]
pub struct HealthReport {
    pub database: String,
    pub status: Status,
    pub exit_code: i32,
    pub checks: Vec<CheckReport>,
}

/// What the checks share: who we are and what we may read.
pub struct Context {
    pub database: String,
    /// The role is a superuser or a member of `pg_monitor`: it sees every session's state and
    /// query, the replication views and the archive status directory.
    pub monitor: bool,
    /// The size remembered from an earlier run (for growth).
    pub previous_size: Option<database_size::Reading>,
}

/// Why a check that reads other sessions cannot run without `pg_monitor`.
pub fn needs_monitor(check: &'static str, what: &str) -> CheckReport {
    CheckReport::new(
        check,
        Status::Unknown,
        format!(
            "cannot read {what}: the role is neither a superuser nor a member of pg_monitor (GRANT pg_monitor TO <role>;)"
        ),
    )
}

type CheckFn = fn(&mut Client, &HealthConfig, &Context) -> Result<CheckReport, postgres::Error>;

/// Every check, in report order.
pub const CHECKS: &[(&str, CheckFn)] = &[
    ("connections", connections::check),
    ("idle_in_transaction", idle_in_transaction::check),
    ("long_running", long_running::check),
    ("blocking", blocking::check),
    ("cache_hit", cache_hit::check),
    ("database_size", database_size::check),
    ("wraparound", wraparound::check),
    ("sequences", sequences::check),
    ("replication_lag", replication_lag::check),
    ("replication_slots", replication_slots::check),
    ("archiving", archiving::check),
    ("dead_tuples", dead_tuples::check),
    ("vacuum_age", vacuum_age::check),
    ("invalid_indexes", invalid_indexes::check),
];

/// Runs every check on `client`'s database. A check whose query fails is `unknown`, with the
/// server's reason; the others go on.
pub fn run(
    client: &mut Client,
    config: &HealthConfig,
    previous_size: Option<database_size::Reading>,
) -> Result<HealthReport, postgres::Error> {
    let row = client.query_one(
        "SELECT current_database()::text,
                (SELECT rolsuper FROM pg_roles WHERE rolname = current_user)
                  OR pg_has_role(current_user, 'pg_monitor', 'USAGE')",
        &[],
    )?;
    let context = Context {
        database: row.get(0),
        monitor: row.get(1),
        previous_size,
    };
    let mut checks = Vec::with_capacity(CHECKS.len());
    for (name, check) in CHECKS {
        let report = check(client, config, &context).unwrap_or_else(|e| {
            CheckReport::new(
                name,
                Status::Unknown,
                format!("the check's query failed: {}", dbsage_pgerror::describe(&e)),
            )
        });
        checks.push(report);
    }
    let status = checks
        .iter()
        .map(|c| c.status)
        .fold(Status::Ok, Status::worst);
    Ok(HealthReport {
        database: context.database,
        status,
        exit_code: status.exit_code(),
        checks,
    })
}

/// `"schema"."name"` for fix SQL.
pub fn quote_qualified(schema: &str, name: &str) -> String {
    format!("{}.{}", quote_ident(schema), quote_ident(name))
}

pub fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// "42 s", "3 min", "2.5 h", "1.2 days".
pub fn human_seconds(seconds: f64) -> String {
    if seconds < 120.0 {
        format!("{seconds:.0} s")
    } else if seconds < 7200.0 {
        format!("{:.0} min", seconds / 60.0)
    } else if seconds < 172_800.0 {
        format!("{:.1} h", seconds / 3600.0)
    } else {
        format!("{:.1} days", seconds / 86400.0)
    }
}

/// "1.5 GB", "12.0 MB", "512 bytes".
pub fn human_bytes(bytes: f64) -> String {
    const UNITS: &[&str] = &["kB", "MB", "GB", "TB"];
    if bytes < 1024.0 {
        return format!("{bytes:.0} bytes");
    }
    let mut value = bytes / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}
