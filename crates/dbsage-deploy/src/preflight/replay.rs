//! What the target will look like after the deploy, checked on a throwaway replay of every
//! migration (and the seed): `secure audit` has no errors, the policy tests (tests/rls) and the
//! pgTAP files (tests/pgtap, supabase/tests) pass, as `secure test` and `dbsage test` run them.

use std::path::PathBuf;

use dbsage_core::config::Project;
use dbsage_core::migrations::MigrationFile;
use dbsage_secure::SecureError;

use crate::step::{StepReport, StepStatus};

pub fn checks(project: &Project, files: &[MigrationFile]) -> dbsage_core::Result<Vec<StepReport>> {
    // Nothing to run: no throwaway cluster either.
    if dbsage_core::exposure::exposed_schemas(project)?.is_plain()
        && !project.root.join("tests/rls").exists()
        && pgtap_files(project).is_empty()
    {
        return Ok(vec![StepReport::new(
            "preflight.replay",
            StepStatus::Skipped,
            "no exposed schemas to audit, no policy tests (tests/rls), no pgTAP files",
        )]);
    }
    let (cluster, mut client) = dbsage_core::local::replayed(project, files)?;
    let mut reports = vec![audit(project, &mut client)?];
    let policy_dir = project.root.join("tests/rls");
    reports.push(if policy_dir.exists() {
        let tests = dbsage_secure::load_tests(&policy_dir).map_err(secure_error)?;
        let report = dbsage_secure::run_tests(&mut client, &tests).map_err(secure_error)?;
        crate::smoke::cases_step("preflight.policy_tests", &report, " on the replay")
    } else {
        StepReport::new(
            "preflight.policy_tests",
            StepStatus::Skipped,
            "no tests/rls",
        )
    });
    dbsage_core::test_setup::apply(&mut client, project)?;
    drop(client);
    let tap_files = pgtap_files(project);
    reports.push(if tap_files.is_empty() {
        StepReport::new(
            "preflight.pgtap",
            StepStatus::Skipped,
            "no pgTAP files (tests/pgtap, supabase/tests)",
        )
    } else {
        let mut open = || {
            cluster
                .connect("postgres")
                .map_err(|e| SecureError::Session {
                    what: "a pgTAP file".into(),
                    message: e.to_string(),
                })
        };
        let report = dbsage_secure::run_pgtap(&mut open, &tap_files).map_err(secure_error)?;
        let failed: Vec<String> = report
            .files
            .iter()
            .filter(|f| !f.ok)
            .map(|f| {
                let first = f
                    .tests
                    .iter()
                    .find(|t| !t.ok)
                    .map(|t| format!("not ok {} - {}", t.number, t.description))
                    .or_else(|| f.error.clone())
                    .unwrap_or_default();
                format!("{}: {first}", f.path)
            })
            .collect();
        let status = if report.ok {
            StepStatus::Passed
        } else {
            StepStatus::Failed
        };
        StepReport::new(
            "preflight.pgtap",
            status,
            format!(
                "{} ok, {} failed on the replay",
                dbsage_core::wording::plural(report.files_passed, "file"),
                report.files_failed
            ),
        )
        .with_details(failed)
    });
    cluster.stop();
    Ok(reports)
}

fn audit(project: &Project, client: &mut postgres::Client) -> dbsage_core::Result<StepReport> {
    let exposure = dbsage_core::exposure::exposed_schemas(project)?;
    if exposure.is_plain() {
        return Ok(StepReport::new(
            "preflight.audit",
            StepStatus::Skipped,
            "no exposed schemas configured ([lint] exposed_schemas): nothing to judge row-level security against",
        ));
    }
    let options = dbsage_secure::AuditOptions {
        exposed_schemas: exposure.schemas,
    };
    let findings = dbsage_secure::audit(client, &options).map_err(secure_error)?;
    let errors: Vec<String> = findings
        .iter()
        .filter(|f| f.severity == dbsage_secure::Severity::Error)
        .map(|f| format!("[{}] {}: {}", f.check, f.object, f.message))
        .collect();
    let status = if errors.is_empty() {
        StepStatus::Passed
    } else {
        StepStatus::Failed
    };
    Ok(StepReport::new(
        "preflight.audit",
        status,
        format!(
            "{} on the replay ({} in all)",
            dbsage_core::wording::plural(errors.len(), "error"),
            dbsage_core::wording::plural(findings.len(), "finding")
        ),
    )
    .with_details(errors))
}

/// The files `dbsage test` runs by default, without the `[test] setup` files among them.
fn pgtap_files(project: &Project) -> Vec<PathBuf> {
    let setup: Vec<PathBuf> = project
        .config
        .test
        .setup
        .iter()
        .map(|p| project.root.join(p))
        .collect();
    let roots = ["supabase/tests", "tests/pgtap"].map(|dir| project.root.join(dir));
    dbsage_secure::test_files(&roots, &setup)
}

pub(crate) fn secure_error(e: SecureError) -> dbsage_core::Error {
    match e {
        SecureError::Database { context, source } => dbsage_core::Error::db(context, source),
        other => dbsage_core::Error::Failed {
            message: other.to_string(),
            hint: String::new(),
        },
    }
}
