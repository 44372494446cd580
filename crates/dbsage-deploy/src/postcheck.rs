//! Post-checks: the deploy left no new invalid index, and health has no critical finding it
//! did not have before (dbsage-tune's health checks, read before the migrations and after).

use dbsage_core::config::Project;
use dbsage_tune::health::{self, HealthConfig, Status};
use postgres::Client;

use crate::step::{StepReport, StepStatus};

/// What the database looked like before the migrations.
#[derive(Debug, Clone, Default)]
pub struct Before {
    pub invalid_indexes: Vec<String>,
    pub criticals: Vec<String>,
}

pub fn before(client: &mut Client, project: &Project) -> dbsage_core::Result<Before> {
    Ok(Before {
        invalid_indexes: invalid_indexes(client)?,
        criticals: criticals(client, project)?,
    })
}

pub fn check(
    client: &mut Client,
    project: &Project,
    before: &Before,
) -> dbsage_core::Result<Vec<StepReport>> {
    let new_invalid: Vec<String> = invalid_indexes(client)?
        .into_iter()
        .filter(|i| !before.invalid_indexes.contains(i))
        .collect();
    let invalid = if new_invalid.is_empty() {
        StepReport::new(
            "postcheck.invalid_indexes",
            StepStatus::Passed,
            "no new invalid index",
        )
    } else {
        StepReport::new(
            "postcheck.invalid_indexes",
            StepStatus::Failed,
            format!(
                "{} after the migrations: a failed CREATE INDEX CONCURRENTLY leaves one behind (drop it and build it again)",
                dbsage_core::wording::plural(new_invalid.len(), "new invalid index")
            ),
        )
        .with_details(new_invalid)
    };
    let worse: Vec<String> = criticals(client, project)?
        .into_iter()
        .filter(|c| !before.criticals.contains(c))
        .collect();
    let health = if worse.is_empty() {
        StepReport::new(
            "postcheck.health",
            StepStatus::Passed,
            format!(
                "no critical health finding that was not there before ({} before)",
                before.criticals.len()
            ),
        )
    } else {
        StepReport::new(
            "postcheck.health",
            StepStatus::Failed,
            format!(
                "{} since the deploy started (`dbsage health` explains each)",
                dbsage_core::wording::plural(worse.len(), "new critical health finding")
            ),
        )
        .with_details(worse)
    };
    Ok(vec![invalid, health])
}

fn invalid_indexes(client: &mut Client) -> dbsage_core::Result<Vec<String>> {
    let rows = client
        .query(
            "select format('%I.%I', n.nspname, c.relname)
             from pg_index i join pg_class c on c.oid = i.indexrelid
             join pg_namespace n on n.oid = c.relnamespace
             where not i.indisvalid order by 1",
            &[],
        )
        .map_err(|e| dbsage_core::Error::db("looking for invalid indexes", e))?;
    Ok(rows.iter().map(|r| r.get(0)).collect())
}

/// `check object: message` of every critical health finding (a critical check without
/// findings counts by its message).
fn criticals(client: &mut Client, project: &Project) -> dbsage_core::Result<Vec<String>> {
    let config =
        HealthConfig::from_toml(project.config.other.get("health")).map_err(|message| {
            dbsage_core::Error::Config {
                message: format!("dbsage.toml [health]: {message}"),
                hint: String::new(),
            }
        })?;
    let report = health::run(client, &config, None)
        .map_err(|e| dbsage_core::Error::db("reading the health checks", e))?;
    let mut found = Vec::new();
    for check in report
        .checks
        .iter()
        .filter(|c| c.status == Status::Critical)
    {
        let critical: Vec<String> = check
            .findings
            .iter()
            .filter(|f| f.severity == dbsage_catalog::finding::Severity::Error)
            .map(|f| format!("{} {}", check.check, f.object))
            .collect();
        if critical.is_empty() {
            found.push(check.check.to_string());
        } else {
            found.extend(critical);
        }
    }
    found.sort();
    found.dedup();
    Ok(found)
}
