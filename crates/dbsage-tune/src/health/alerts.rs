//! `[alerts] webhook`: a JSON post (Slack-compatible `text`, plus the fields a script wants)
//! for each check whose status changed since the last run. The caller remembers the statuses
//! (the CLI keeps them under `.dbsage/`); a check seen for the first time counts as having been
//! ok, so a first run on a healthy database posts nothing.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::json;

use super::{HealthReport, Status};

/// A check's status change.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    pub check: String,
    pub from: Status,
    pub to: Status,
    pub message: String,
}

/// The statuses to remember after `report`.
pub fn statuses(report: &HealthReport) -> BTreeMap<String, Status> {
    report
        .checks
        .iter()
        .map(|c| (c.check.to_string(), c.status))
        .collect()
}

/// The checks whose status differs from `previous`.
pub fn changes(previous: &BTreeMap<String, Status>, report: &HealthReport) -> Vec<Change> {
    report
        .checks
        .iter()
        .filter_map(|c| {
            let from = previous.get(c.check).copied().unwrap_or(Status::Ok);
            (from != c.status).then(|| Change {
                check: c.check.to_string(),
                from,
                to: c.status,
                message: c.message.clone(),
            })
        })
        .collect()
}

/// The JSON body posted for one change. `environment` is the environment's name and
/// `database` the database's name: never a URL, so never a password.
pub fn payload(environment: &str, database: &str, change: &Change) -> serde_json::Value {
    let icon = match change.to {
        Status::Ok => "✅",
        Status::Warning => "⚠️",
        Status::Critical => "🔴",
        Status::Unknown => "❔",
    };
    json!({
        "text": format!(
            "{icon} dbsage health [{environment}/{database}] {}: {} → {}: {}",
            change.check, change.from, change.to, change.message
        ),
        "environment": environment,
        "database": database,
        "check": change.check,
        "from": change.from,
        "to": change.to,
        "message": change.message,
    })
}

/// Posts `body` to `url` (http or https), with a 10 s bound. The error names the status or the
/// transport failure, not the URL (webhook URLs carry their secret in the path).
pub fn post(url: &str, body: &serde_json::Value) -> Result<(), String> {
    let agent = ureq::AgentBuilder::new()
        .timeout(Duration::from_secs(10))
        .build();
    match agent
        .post(url)
        .set("Content-Type", "application/json")
        .send_string(&body.to_string())
    {
        Ok(_) => Ok(()),
        Err(ureq::Error::Status(code, _)) => Err(format!("the webhook answered HTTP {code}")),
        Err(ureq::Error::Transport(t)) => Err(format!(
            "the webhook could not be reached: {}",
            t.message()
                .map(str::to_string)
                .unwrap_or_else(|| t.kind().to_string())
        )),
    }
}
