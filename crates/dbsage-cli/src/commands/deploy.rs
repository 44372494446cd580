//! `dbsage deploy`: the pipeline lives in dbsage-deploy; this prints its steps as they finish
//! and the report's summary.

use clap::Args;

use dbsage_deploy::{DeployOptions, Event, Outcome, StepStatus};

use crate::output::{Out, Style};

#[derive(Args, Debug)]
pub struct DeployArgs {
    /// Environment: a name from dbsage.toml (default: [migrate] default_environment).
    #[arg(long, short)]
    pub env: Option<String>,
    /// Print everything that would happen (preflight included); change nothing.
    #[arg(long, conflicts_with_all = ["rehearse", "yes", "skip_backup"])]
    pub plan: bool,
    /// Run migrate, smoke tests and post-checks on a throwaway copy restored from the
    /// environment's latest backup (one is taken when there is none); the target is not changed.
    #[arg(long, conflicts_with = "skip_backup")]
    pub rehearse: bool,
    /// Do not ask for the protected environment's name (for scripts and CI).
    #[arg(long, short)]
    pub yes: bool,
    /// Deploy without a backup: said loudly and recorded in the audit log.
    #[arg(long)]
    pub skip_backup: bool,
    /// Why --skip-backup: recorded with it in the audit log.
    #[arg(long, value_name = "TEXT", requires = "skip_backup")]
    pub reason: Option<String>,
    #[command(flatten)]
    pub fleet: super::fleet::FleetArgs,
}

pub fn run(args: DeployArgs, out: &Out) -> dbsage_core::Result<i32> {
    let project = super::project()?;
    if let Some(fleet) = dbsage_core::fleet::resolve(&project, args.env.as_deref())? {
        return super::fleet_deploy::run(&args, &project, &fleet, out);
    }
    let target = dbsage_core::env::Target::resolve(&project, args.env.as_deref())?;
    args.fleet.refuse_on_single(&target.name)?;
    super::announce(out, &target);
    if args.skip_backup {
        out.warn("--skip-backup: this deploy takes NO backup; if it goes wrong there is nothing to restore from (recorded in the audit log)");
    }
    let options = DeployOptions {
        plan: args.plan,
        rehearse: args.rehearse,
        yes: args.yes,
        skip_backup: args.skip_backup,
        reason: args.reason,
        fleet: None,
    };
    let report = dbsage_deploy::deploy(
        &project,
        Some(&target.name),
        &options,
        &mut |prompt| out.ask(prompt),
        &mut |event| show_event(out, event),
    )?;
    if out.json_mode() {
        out.json(&serde_json::to_value(&report).unwrap());
        return Ok(report.exit_code());
    }
    let style = match report.outcome {
        Outcome::Deployed | Outcome::Rehearsed | Outcome::Planned => Style::Good,
        Outcome::Failed | Outcome::Refused => Style::Bad,
    };
    out.line(&out.paint(&report.headline(), style));
    if !report.rolled_back.is_empty() {
        out.line(&format!(
            "rolled back {} with their down files",
            dbsage_core::wording::plural(report.rolled_back.len(), "migration")
        ));
    }
    if !report.rollback_commands.is_empty() {
        out.line(if report.outcome == Outcome::Deployed {
            "to undo it:"
        } else {
            "ROLLBACK: run now"
        });
        for c in &report.rollback_commands {
            out.line(&format!("  {c}"));
        }
    }
    for m in &report.migrations {
        out.line(&format!(
            "  {}_{}: {} ms, {} attempt(s), {} ms lock waits{}",
            m.version,
            m.name,
            m.duration_ms,
            m.attempts,
            m.lock_wait_ms,
            if m.locks.is_empty() {
                String::new()
            } else {
                format!("; locks: {}", m.locks.join(", "))
            }
        ));
    }
    for f in &report.files {
        out.line(&format!("report: {}", super::display_path(f)));
    }
    Ok(report.exit_code())
}

/// A step's progress on stderr, as it happens.
pub fn show_event(out: &Out, event: Event) {
    match event {
        Event::Started(_) => {}
        Event::Note(note) => out.status("", &note),
        Event::Done(step) => {
            let (verb, style) = match step.status {
                StepStatus::Passed => ("ok", Style::Good),
                StepStatus::Failed => ("FAILED", Style::Bad),
                StepStatus::Refused => ("REFUSED", Style::Bad),
                StepStatus::Skipped => ("skipped", Style::Warn),
                StepStatus::Planned => ("would", Style::Dim),
            };
            if !out.json_mode() {
                err_line!(
                    "{:>12} {}: {} ({} ms)",
                    out.paint_err(verb, style),
                    step.step,
                    dbsage_core::redact::redact(&step.message),
                    step.duration_ms
                );
                for d in &step.details {
                    err_line!("{:>12}   - {}", "", dbsage_core::redact::redact(d));
                }
            }
        }
    }
}
