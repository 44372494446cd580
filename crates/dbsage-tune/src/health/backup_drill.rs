//! `backup_drill`: a project check, not a server one. Backups nobody restored are a hope: warn
//! when the environment's last good `dbsage backup drill` is older than `[backup]
//! drill_max_age` (default 30 days), or when none ever passed. The caller skips it for an
//! environment that was never backed up.

use serde_json::json;

use super::{finding, human_seconds, CheckReport, Metric, Status};

/// The last drill of an environment, as `.dbsage/drills.json` records it.
pub struct DrillSeen {
    pub at_unix: i64,
    pub ok: bool,
    pub backup_id: String,
}

pub fn check(
    environment: &str,
    last_good: Option<&DrillSeen>,
    last: Option<&DrillSeen>,
    max_age_seconds: i64,
    now_unix: i64,
) -> CheckReport {
    let fix = format!("dbsage backup drill --env {environment}");
    let failed_since = last.filter(|d| !d.ok);
    let Some(good) = last_good else {
        let message = match failed_since {
            Some(d) => format!("no restore drill has passed for `{environment}`; the last one (backup {}) failed: {fix}", d.backup_id),
            None => format!("`{environment}` is backed up but no restore drill was ever run: {fix}"),
        };
        let f = finding(
            "backup_drill",
            Status::Warning,
            environment,
            &message,
            json!({ "last_good_drill": null }),
        );
        return CheckReport::from_findings("backup_drill", vec![f], "");
    };
    let age = now_unix - good.at_unix;
    let metric = Metric::new(
        "backup_drill_age_seconds",
        "Seconds since the last restore drill that passed.",
        age as f64,
    )
    .label("environment", environment);
    if age > max_age_seconds {
        let message = format!(
            "the last good restore drill of `{environment}` was {} ago (backup {}; drill_max_age {}): {fix}",
            human_seconds(age as f64),
            good.backup_id,
            human_seconds(max_age_seconds as f64)
        );
        let f = finding(
            "backup_drill",
            Status::Warning,
            environment,
            message,
            json!({ "age_seconds": age, "max_age_seconds": max_age_seconds, "backup": good.backup_id }),
        );
        return CheckReport::from_findings("backup_drill", vec![f], "").with_metrics(vec![metric]);
    }
    let mut message = format!(
        "last good restore drill {} ago (backup {}; drill_max_age {})",
        human_seconds(age as f64),
        good.backup_id,
        human_seconds(max_age_seconds as f64)
    );
    if let Some(d) = failed_since {
        message.push_str(&format!(
            "; the newest drill (backup {}) FAILED",
            d.backup_id
        ));
    }
    CheckReport::new("backup_drill", Status::Ok, message).with_metrics(vec![metric])
}
