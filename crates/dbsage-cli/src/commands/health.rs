//! `dbsage health`: the monitoring checks of `dbsage_tune::health`, rendered for a person, a
//! script (`--format json`) or Prometheus (`--format prometheus`), once or every `--watch`
//! seconds. Exit codes are those of monitoring plugins (0 ok, 1 warning, 2 critical,
//! 3 unknown), so a configuration or connection failure is 3 here, not 2.
//!
//! Between runs `.dbsage/health-<environment>.json` remembers each check's status (for
//! `[alerts] webhook`) and the database size (for growth).

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::time::Duration;

use clap::Args;
use serde::{Deserialize, Serialize};
use serde_json::json;

use dbsage_core::config::Project;
use dbsage_core::env::Target;
use dbsage_core::Error;
use dbsage_tune::health::{
    self, alerts, database_size::Reading, HealthConfig, HealthReport, Status,
};

use crate::output::{Out, Style};
use crate::Format;

pub const EXIT_CODES: &str = "\
Exit codes (those of monitoring plugins such as check_postgres, unlike dbsage's other commands):
  0  every check ok
  1  a check at warning
  2  a check at critical
  3  unknown: a check could not run (the reason is shown), or the configuration or connection failed";

#[derive(Args, Debug)]
pub struct HealthArgs {
    /// Environment: a name from dbsage.toml, `dev` (default), or DATABASE_URL.
    #[arg(long, short)]
    pub env: Option<String>,
    /// Run again every SECS seconds (a refreshed view on a terminal, rounds one after another
    /// otherwise) until interrupted.
    #[arg(long, value_name = "SECS", value_parser = clap::value_parser!(u64).range(1..))]
    pub watch: Option<u64>,
    #[command(flatten)]
    pub fleet: super::fleet::FleetArgs,
}

/// What `.dbsage/health-<environment>.json` remembers (a fleet's: one per database).
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub(super) struct Remembered {
    pub size: Option<Reading>,
    pub statuses: BTreeMap<String, Status>,
}

pub fn run(args: HealthArgs, out: &Out) -> dbsage_core::Result<i32> {
    match run_checks(&args, out) {
        Ok(code) => Ok(code),
        Err(e) => {
            out.error(&e);
            Ok(Status::Unknown.exit_code())
        }
    }
}

fn run_checks(args: &HealthArgs, out: &Out) -> dbsage_core::Result<i32> {
    let project = super::project()?;
    let config =
        HealthConfig::from_toml(project.config.other.get("health")).map_err(|message| {
            Error::Config {
                message: format!("dbsage.toml: {message}"),
                hint: "see `Monitoring: dbsage health` in the README for each check's thresholds"
                    .into(),
            }
        })?;
    let webhook = webhook(&project)?;
    if let Some(fleet) = dbsage_core::fleet::resolve(&project, args.env.as_deref())? {
        if args.watch.is_some() {
            return Err(Error::Config {
                message: "--watch runs on one database; a fleet is checked one round at a time"
                    .into(),
                hint: "run `dbsage health --env FLEET` from your scheduler".into(),
            });
        }
        return super::fleet_health::health(
            &project,
            &config,
            webhook.as_deref(),
            &fleet,
            &args.fleet,
            out,
        );
    }
    let target = Target::resolve(&project, args.env.as_deref())?;
    args.fleet.refuse_on_single(&target.name)?;
    super::announce(out, &target);
    let Some(every) = args.watch else {
        let mut client = target.connect(&project, "dbsage health")?;
        let report = round(
            &project,
            &target,
            &config,
            webhook.as_deref(),
            &mut client,
            out,
        )?;
        render(out, &target, &report);
        return Ok(report.exit_code);
    };
    let live = std::io::stdout().is_terminal() && out.format == Format::Human;
    let mut client = None;
    loop {
        if live {
            // Home and clear: the view is redrawn in place.
            out_text!("\x1b[H\x1b[2J");
        }
        if out.format == Format::Human {
            out_line!(
                "{}",
                out.paint(
                    &format!("dbsage health --watch {every}: {}", now_utc()),
                    Style::Dim
                )
            );
        }
        // A lost connection is retried on the next round; the round says why it failed.
        let result = match client.as_mut() {
            Some(c) => Ok(c),
            None => target
                .connect(&project, "dbsage health")
                .map(|c| client.insert(c)),
        }
        .and_then(|c| round(&project, &target, &config, webhook.as_deref(), c, out));
        match result {
            Ok(report) => render(out, &target, &report),
            Err(e) => {
                client = None;
                out.error(&e);
            }
        }
        std::thread::sleep(Duration::from_secs(every));
    }
}

/// `[alerts] webhook`, expanded and registered as a secret (webhook URLs carry their token).
pub(crate) fn webhook(project: &Project) -> dbsage_core::Result<Option<String>> {
    let Some(alerts) = project.config.other.get("alerts") else {
        return Ok(None);
    };
    let bad = |message: String| Error::Config {
        message: format!("dbsage.toml: [alerts] {message}"),
        hint: "write `[alerts]` then `webhook = \"${ALERT_WEBHOOK_URL}\"`".into(),
    };
    let table = alerts
        .as_table()
        .ok_or_else(|| bad("must be a table".into()))?;
    if let Some(unknown) = table.keys().find(|k| k.as_str() != "webhook") {
        return Err(bad(format!("has no key `{unknown}` (only `webhook`)")));
    }
    let Some(raw) = table.get("webhook") else {
        return Ok(None);
    };
    let raw = raw
        .as_str()
        .ok_or_else(|| bad("webhook must be a string".into()))?;
    let url = project.expand("alerts.webhook", raw)?;
    if !(url.starts_with("http://") || url.starts_with("https://")) {
        return Err(bad("webhook must be an http:// or https:// URL".into()));
    }
    dbsage_core::redact::register_secret(&url);
    Ok(Some(url))
}

/// One round: the checks, then what changed posted to the webhook, then the new state saved.
fn round(
    project: &Project,
    target: &Target,
    config: &HealthConfig,
    webhook: Option<&str>,
    client: &mut postgres::Client,
    out: &Out,
) -> dbsage_core::Result<HealthReport> {
    let state_file = format!("health-{}.json", file_safe(&target.name));
    let remembered: Remembered = std::fs::read_to_string(project.state_dir().join(&state_file))
        .ok()
        .and_then(|text| serde_json::from_str(&text).ok())
        .unwrap_or_default();
    let mut report = health::run(client, config, remembered.size)
        .map_err(|e| Error::db("running the health checks", e))?;
    super::health_drill::add_to(&mut report, project, &target.name)?;
    let mut statuses = alerts::statuses(&report);
    if let Some(url) = webhook {
        for change in alerts::changes(&remembered.statuses, &report) {
            if let Err(e) = alerts::post(
                url,
                &alerts::payload(&target.name, &report.database, &change),
            ) {
                // Not posted: keep the old status so the next run tries again.
                statuses.insert(change.check.clone(), change.from);
                out.warn(&format!("alert for `{}` not sent: {e}", change.check));
            }
        }
    }
    let size = next_size(remembered.size, &report);
    let text = serde_json::to_string_pretty(&Remembered { size, statuses }).expect("serialisable");
    project.write_state_file(&state_file, &text)?;
    Ok(report)
}

/// The size reading to remember: a new one only when the last one is a day old, so growth is
/// per day, not per run.
pub(super) fn next_size(remembered: Option<Reading>, report: &HealthReport) -> Option<Reading> {
    match (remembered, current_size(report)) {
        (Some(old), Some(new)) if new.at - old.at < 86_400.0 => Some(old),
        (_, new) => new.or(remembered),
    }
}

/// The size reading the `database_size` check took.
fn current_size(report: &HealthReport) -> Option<Reading> {
    let check = report.checks.iter().find(|c| c.check == "database_size")?;
    let bytes = check
        .metrics
        .iter()
        .find(|m| m.name == "database_size_bytes")?
        .value;
    let at = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .ok()?
        .as_secs_f64();
    Some(Reading {
        bytes: bytes as i64,
        at,
    })
}

pub(super) fn file_safe(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

fn now_utc() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

fn render(out: &Out, target: &Target, report: &HealthReport) {
    match out.format {
        Format::Json => {
            let mut value = serde_json::to_value(report).expect("serialisable");
            value["environment"] = json!(target.name);
            out.json(&value);
        }
        Format::Prometheus => {
            out_text!(
                "{}",
                dbsage_core::redact::redact(&health::prometheus::render(report))
            );
        }
        _ => render_human(out, report),
    }
}

fn render_human(out: &Out, report: &HealthReport) {
    let paint = |status: Status| {
        let style = match status {
            Status::Ok => Style::Good,
            Status::Warning => Style::Warn,
            Status::Critical => Style::Bad,
            Status::Unknown => Style::Dim,
        };
        out.paint(status.as_str(), style)
    };
    for check in &report.checks {
        let pad = " ".repeat(8usize.saturating_sub(check.status.as_str().len()));
        out.line(&format!(
            "{}{pad} {:<20} {}",
            paint(check.status),
            check.check,
            check.message
        ));
    }
    let findings: Vec<_> = report
        .checks
        .iter()
        .flat_map(|c| c.findings.iter().cloned())
        .collect();
    if !findings.is_empty() {
        out.line("");
        super::findings::print(out, &findings);
    }
    out.line(&format!(
        "{}: {} (exit {})",
        report.database,
        paint(report.status),
        report.exit_code
    ));
}
