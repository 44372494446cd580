//! Smoke tests: `tests/smoke/*.toml` in the policy-test format (`sql`, `expect`, `as`), run
//! against the environment just migrated, each case in a transaction that is rolled back.

use dbsage_core::config::Project;
use dbsage_secure::TestReport;
use postgres::Client;

use crate::config::DeployConfig;
use crate::preflight::replay::secure_error;
use crate::step::{StepReport, StepStatus};

pub fn run(
    client: &mut Client,
    project: &Project,
    config: &DeployConfig,
) -> dbsage_core::Result<(StepReport, Option<TestReport>)> {
    let dir = project.root.join(&config.smoke_dir);
    if !dir.exists() {
        return Ok((
            StepReport::new(
                "smoke",
                StepStatus::Skipped,
                format!(
                    "no smoke tests ({} does not exist)",
                    config.smoke_dir.display()
                ),
            ),
            None,
        ));
    }
    let tests = dbsage_secure::load_tests(&dir).map_err(secure_error)?;
    let report = dbsage_secure::run_tests(client, &tests).map_err(secure_error)?;
    let step = cases_step("smoke", &report, "");
    Ok((step, Some(report)))
}

/// A step over policy-test cases: the counts, and each failed case with why.
pub fn cases_step(name: &str, report: &TestReport, place: &str) -> StepReport {
    let failed: Vec<String> = report
        .cases
        .iter()
        .filter(|c| !c.passed)
        .map(|c| format!("{} · {}: {}", c.file, c.name, c.message))
        .collect();
    let status = if failed.is_empty() {
        StepStatus::Passed
    } else {
        StepStatus::Failed
    };
    StepReport::new(
        name,
        status,
        format!("{} passed, {} failed{place}", report.passed, report.failed),
    )
    .with_details(failed)
}
