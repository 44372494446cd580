//! `dbsage deploy --env FLEET`: a read-only plan of every database, the preflight that does not
//! depend on the database once (lint on everything pending somewhere, the local pass,
//! `requires`, the replay's audit, policy tests and pgTAP), the protected fleet's gate once, then
//! each database's own pipeline (drift, lock holders, backup, migrate, smoke tests,
//! post-checks, rollback, its report in `.dbsage/deploys/`) through the fan-out runner.

use std::collections::BTreeMap;
use std::sync::Mutex;

use serde_json::json;

use dbsage_core::config::Project;
use dbsage_core::env::Target;
use dbsage_core::fleet::Fleet;
use dbsage_core::gates::GateOptions;
use dbsage_core::migrate::{self, Planned, RunOptions};
use dbsage_core::migrations::MigrationFile;
use dbsage_core::{Error, Result};
use dbsage_deploy::{DeployOptions, DeployReport, FleetShare, Outcome, StepStatus};

use super::deploy::DeployArgs;
use super::fleet::{self as fleet_cli, Row};
use super::fleet_migrate;
use crate::output::Out;

pub fn run(args: &DeployArgs, project: &Project, fleet: &Fleet, out: &Out) -> Result<i32> {
    if args.rehearse {
        return Err(Error::Config {
            message: "--rehearse restores one database's latest backup on a throwaway cluster: a fleet has many".into(),
            hint: "rehearse on one of the fleet's databases: add an environment with its url and run `dbsage deploy --rehearse --env THAT`".into(),
        });
    }
    fleet_cli::announce(out, fleet);
    if args.skip_backup {
        out.warn("--skip-backup: this deploy takes NO backup of any database of the fleet; if one goes wrong there is nothing to restore it from (recorded in each audit log)");
    }
    let files = dbsage_core::migrations::discover_project(project)?;
    let plan = |target: &Target| -> Result<Vec<Planned>> {
        let mut client = target.connect(project, "dbsage deploy")?;
        Ok(migrate::run(
            &mut client,
            project,
            &files,
            &mut RunOptions {
                dry_run: true,
                ..Default::default()
            },
            &mut |_| {},
        )?
        .planned)
    };
    let planned = fleet_migrate::plan_fleet(&files, fleet, args.fleet.parallel, &plan, out);
    let pending: Vec<&MigrationFile> = files
        .iter()
        .filter(|f| planned.union.iter().any(|p| p.version == f.version))
        .collect();
    out.status("Preflight", "once for the fleet");
    let steps = dbsage_deploy::fleet::preflight_once(
        project,
        &fleet.targets[0],
        &files,
        &pending,
        &mut |event| super::deploy::show_event(out, event),
    );
    if let Some(failed) = steps.iter().find(|s| !s.ok()) {
        return Err(preflight_failed(fleet, failed));
    }
    let gate_audit = if fleet.protected && !args.plan {
        let count = dbsage_core::wording::plural(fleet.targets.len(), "database");
        let gate = fleet_migrate::gate_fleet(
            project,
            &files,
            fleet,
            &planned,
            &GateOptions {
                yes: args.yes,
                ..Default::default()
            },
            &format!("deploy to {count} of"),
            out,
        )?;
        Some(gate.audit_events())
    } else {
        None
    };
    let options = DeployOptions {
        plan: args.plan,
        rehearse: false,
        yes: args.yes,
        skip_backup: args.skip_backup,
        reason: args.reason.clone(),
        fleet: Some(FleetShare { steps, gate_audit }),
    };
    // A failed deploy is an `Err` for the runner (so `--canary` and `--fail-fast` stop on it);
    // its row, with the report's fields, is put back in place for rendering.
    let failed_rows: Mutex<BTreeMap<String, Row>> = Mutex::default();
    let work = |target: &Target| -> Result<Row> {
        let row = deploy_one(project, &files, &options, target)?;
        if !row.failed {
            return Ok(row);
        }
        let message = format!("deploy {}: {}", row.result, row.detail);
        failed_rows
            .lock()
            .expect("no worker panicked")
            .insert(target.display.clone(), row);
        Err(Error::Failed {
            message,
            hint: String::new(),
        })
    };
    let mut report = fleet_cli::run(out, fleet, &args.fleet, &work);
    let mut failed_rows = failed_rows.into_inner().expect("no worker panicked");
    for run in &mut report.runs {
        if let Some(row) = failed_rows.remove(&run.target) {
            run.outcome = dbsage_core::fan_out::Outcome::Done(row);
        }
    }
    let code = fleet_cli::render(out, fleet, "deploy", &report);
    if !out.json_mode() {
        for run in &report.runs {
            if let dbsage_core::fan_out::Outcome::Done(row) = &run.outcome {
                if let Some(md) = row.json["report"].as_array().and_then(|f| f.last()) {
                    out.line(&format!(
                        "report of {}: {}",
                        run.target,
                        md.as_str().unwrap_or_default()
                    ));
                }
            }
        }
    }
    Ok(code)
}

/// A shared preflight step that failed: nothing was done on any database.
fn preflight_failed(fleet: &Fleet, failed: &dbsage_deploy::StepReport) -> Error {
    let mut message = format!(
        "deploy to the fleet `{}` stopped before touching any of its {}: {} {}: {}",
        fleet.name,
        dbsage_core::wording::plural(fleet.targets.len(), "database"),
        failed.step,
        if failed.status == StepStatus::Refused {
            "refused"
        } else {
            "failed"
        },
        failed.message
    );
    for detail in &failed.details {
        message.push_str(&format!("\n  {detail}"));
    }
    let hint = "fix it and run the deploy again; this step does not depend on the database, so it ran once for the whole fleet".to_string();
    if failed.status == StepStatus::Refused {
        Error::Refused { message, hint }
    } else {
        Error::Failed { message, hint }
    }
}

/// One database's pipeline and its row: the outcome, the failed step, what was (or would be)
/// applied, the time lost waiting for locks and the report's files.
fn deploy_one(
    project: &Project,
    files: &[MigrationFile],
    options: &DeployOptions,
    target: &Target,
) -> Result<Row> {
    let report =
        dbsage_deploy::deploy_to(project, target.clone(), options, &mut |_| None, &mut |_| {})?;
    let mut row = Row::ok(detail(&report));
    row.result = match report.outcome {
        Outcome::Deployed => "deployed",
        Outcome::Planned => "planned",
        Outcome::Rehearsed => "rehearsed",
        Outcome::Failed => "failed",
        Outcome::Refused => "refused",
    }
    .into();
    row.failed = report.exit_code() != 0;
    if report.outcome != Outcome::Planned {
        row.lock_wait_ms = Some(report.migrations.iter().map(|m| m.lock_wait_ms).sum());
    }
    // The version column: what the database has now (a failure may have left some applied).
    if let Ok(mut client) = target.connect(project, "dbsage deploy") {
        row.version = fleet_migrate::newest_applied(&mut client, project, files).unwrap_or(None);
    }
    let report_files: Vec<String> = report
        .files
        .iter()
        .map(|f| super::display_path(f))
        .collect();
    for (key, value) in [
        ("outcome", json!(report.outcome)),
        ("failed_step", json!(report.failed_step)),
        ("pending", json!(report.pending)),
        ("migrations", json!(report.migrations)),
        ("backup", json!(report.backup)),
        ("rolled_back", json!(report.rolled_back)),
        ("rollback_commands", json!(report.rollback_commands)),
        ("steps", json!(report.steps)),
        ("report", json!(report_files)),
    ] {
        row.json.insert(key.into(), value);
    }
    Ok(row)
}

/// The table's last column for one database.
fn detail(report: &DeployReport) -> String {
    let plural = dbsage_core::wording::plural;
    match report.outcome {
        Outcome::Planned if report.pending.is_empty() => "up to date: nothing to apply".into(),
        Outcome::Planned => format!(
            "would apply {}: {}",
            plural(report.pending.len(), "migration"),
            report.pending.join(", ")
        ),
        Outcome::Deployed if report.migrations.is_empty() => "up to date".into(),
        Outcome::Deployed | Outcome::Rehearsed => {
            format!("applied {}", plural(report.migrations.len(), "migration"))
        }
        Outcome::Failed | Outcome::Refused => {
            let step = report.failed_step.as_deref().unwrap_or("?");
            let message = report
                .steps
                .iter()
                .find(|s| s.step == step)
                .map(|s| dbsage_core::redact::redact(&s.message))
                .unwrap_or_default();
            let rolled_back = if report.rolled_back.is_empty() {
                String::new()
            } else {
                format!(
                    " (rolled back {})",
                    plural(report.rolled_back.len(), "migration")
                )
            };
            format!("{step}: {message}{rolled_back}")
        }
    }
}
