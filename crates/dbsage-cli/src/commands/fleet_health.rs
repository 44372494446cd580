//! `dbsage health --env FLEET`: each database's checks through the fan-out runner, what each
//! remembers between runs (check statuses, the size reading growth is measured from) kept per
//! database in `.dbsage/health-<fleet>.json` under its display name (`database@host:port`, never
//! a password), and ONE webhook post per run carrying every database's failing checks when any
//! status changed, instead of one post per database and check.

use std::collections::BTreeMap;
use std::sync::Mutex;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use dbsage_core::config::Project;
use dbsage_core::env::Target;
use dbsage_core::fleet::Fleet;
use dbsage_core::{Error, Result};
use dbsage_tune::health::{self, alerts, HealthConfig, HealthReport, Status};

use super::fleet::{self as fleet_cli, FleetArgs, Row};
use super::health::{next_size, Remembered};
use crate::output::Out;

/// What `.dbsage/health-<fleet>.json` remembers: each database's, by display name.
#[derive(Debug, Default, Serialize, Deserialize)]
struct FleetRemembered {
    targets: BTreeMap<String, Remembered>,
}

/// Exit codes stay those of monitoring plugins: the worst database's (a database that cannot
/// be reached, or was not looked at, is unknown, 3).
pub fn health(
    project: &Project,
    config: &HealthConfig,
    webhook: Option<&str>,
    fleet: &Fleet,
    args: &FleetArgs,
    out: &Out,
) -> Result<i32> {
    fleet_cli::announce(out, fleet);
    let state_file = format!("health-{}.json", super::health::file_safe(&fleet.name));
    let remembered: FleetRemembered =
        std::fs::read_to_string(project.state_dir().join(&state_file))
            .ok()
            .and_then(|text| serde_json::from_str(&text).ok())
            .unwrap_or_default();
    let reports: Mutex<BTreeMap<String, HealthReport>> = Mutex::default();
    let work = |target: &Target| -> Result<Row> {
        let mut client = target.connect(project, "dbsage health")?;
        let previous = remembered.targets.get(&target.display).and_then(|r| r.size);
        let report = health::run(&mut client, config, previous)
            .map_err(|e| Error::db("running the health checks", e))?;
        let row = row(&report);
        reports
            .lock()
            .expect("no worker panicked")
            .insert(target.display.clone(), report);
        Ok(row)
    };
    let run = fleet_cli::run(out, fleet, args, &work);
    fleet_cli::render(out, fleet, "health", &run);
    let reports = reports.into_inner().expect("no worker panicked");
    let next = remember(fleet, webhook, &remembered, &reports, out);
    let text = serde_json::to_string_pretty(&next).expect("serialisable");
    project.write_state_file(&state_file, &text)?;
    Ok(run
        .runs
        .iter()
        .map(|run| match &run.outcome {
            dbsage_core::fan_out::Outcome::Done(row) => row
                .json
                .get("exit_code")
                .and_then(Value::as_i64)
                .unwrap_or(3) as i32,
            // Not reached, or not looked at (a canary or --fail-fast stopped the round).
            _ => Status::Unknown.exit_code(),
        })
        .max()
        .unwrap_or(0))
}

fn row(report: &HealthReport) -> Row {
    let not_ok: Vec<String> = report
        .checks
        .iter()
        .filter(|c| c.status != Status::Ok)
        .map(|c| format!("{} {}", c.check, c.status.as_str()))
        .collect();
    let mut row = Row::ok(if not_ok.is_empty() {
        "every check ok".into()
    } else {
        not_ok.join(", ")
    });
    row.result = report.status.as_str().to_string();
    row.failed = matches!(report.status, Status::Critical | Status::Unknown);
    row.json
        .insert("status".into(), json!(report.status.as_str()));
    row.json.insert("exit_code".into(), json!(report.exit_code));
    row.json.insert("checks".into(), json!(report.checks));
    row
}

/// The memory after this round: each database checked gets its new statuses and size reading,
/// the others keep theirs. When a status changed somewhere, one post to the webhook; if it
/// cannot be sent, the changed statuses keep their old value so the next run tries again.
fn remember(
    fleet: &Fleet,
    webhook: Option<&str>,
    remembered: &FleetRemembered,
    reports: &BTreeMap<String, HealthReport>,
    out: &Out,
) -> FleetRemembered {
    let mut next = FleetRemembered {
        targets: remembered.targets.clone(),
    };
    let mut changes: Vec<(&str, alerts::Change)> = Vec::new();
    for (display, report) in reports {
        let before = remembered.targets.get(display).cloned().unwrap_or_default();
        changes.extend(
            alerts::changes(&before.statuses, report)
                .into_iter()
                .map(|c| (display.as_str(), c)),
        );
        next.targets.insert(
            display.clone(),
            Remembered {
                size: next_size(before.size, report),
                statuses: alerts::statuses(report),
            },
        );
    }
    let Some(url) = webhook.filter(|_| !changes.is_empty()) else {
        return next;
    };
    if let Err(e) = alerts::post(url, &payload(fleet, reports, &changes)) {
        for (display, change) in &changes {
            if let Some(memory) = next.targets.get_mut(*display) {
                memory.statuses.insert(change.check.clone(), change.from);
            }
        }
        out.warn(&format!(
            "alert for the fleet `{}` not sent ({}): {e}",
            fleet.name,
            dbsage_core::wording::plural(changes.len(), "status change")
        ));
    }
    next
}

/// The one post of a round: every database's failing checks (not only the changed ones: the
/// reader sees the whole fleet's state) and the changes that caused it. Databases are named by
/// their display names, never their URLs.
fn payload(
    fleet: &Fleet,
    reports: &BTreeMap<String, HealthReport>,
    changes: &[(&str, alerts::Change)],
) -> Value {
    let failing: Vec<Value> = reports
        .iter()
        .filter(|(_, r)| r.status != Status::Ok)
        .map(|(display, r)| {
            let checks: Vec<Value> = r
                .checks
                .iter()
                .filter(|c| c.status != Status::Ok)
                .map(|c| json!({"check": c.check, "status": c.status, "message": c.message}))
                .collect();
            json!({"target": display, "database": r.database, "status": r.status, "checks": checks})
        })
        .collect();
    let mut text = format!(
        "dbsage health [{}]: {} of {} failing",
        fleet.name,
        failing.len(),
        dbsage_core::wording::plural(reports.len(), "database")
    );
    for (display, r) in reports.iter().filter(|(_, r)| r.status != Status::Ok) {
        let checks: Vec<String> = r
            .checks
            .iter()
            .filter(|c| c.status != Status::Ok)
            .map(|c| format!("{} {}: {}", c.check, c.status, c.message))
            .collect();
        text.push_str(&format!("\n• {display}: {}", checks.join("; ")));
    }
    let changed: Vec<Value> = changes
        .iter()
        .map(|(display, c)| {
            json!({"target": display, "check": c.check, "from": c.from, "to": c.to, "message": c.message})
        })
        .collect();
    json!({
        "text": text,
        "environment": fleet.name,
        "failing": failing,
        "changes": changed,
    })
}
