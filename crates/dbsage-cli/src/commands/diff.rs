//! `dbsage diff` and `dbsage drift`: the engine is `dbsage-diff`; this renders and writes.

use clap::Args;
use serde_json::json;

use dbsage_diff::sides::{diff_sides, DiffReport, Side};
use dbsage_diff::Plan;

use crate::output::{Out, Style};

#[derive(Args, Debug)]
pub struct DiffArgs {
    /// The schema to start from: an environment name, `migrations` (the history replayed on a
    /// throwaway cluster) or a .sql file (applied on a throwaway cluster).
    #[arg(long, value_name = "ENV|migrations|FILE.sql")]
    pub from: String,
    /// The schema to reach, spelled like --from.
    #[arg(long, value_name = "ENV|migrations|FILE.sql")]
    pub to: String,
    /// Write the plan as migration file(s) named NAME (the CONCURRENTLY/VALIDATE part in its
    /// own `-- dbsage:no-transaction` file). Nothing is written when the proof fails.
    #[arg(long, value_name = "NAME")]
    pub write: Option<String>,
}

#[derive(Args, Debug)]
pub struct DriftArgs {
    /// The environment whose live schema is compared with the migration history it applied.
    #[arg(long, short)]
    pub env: String,
    #[command(flatten)]
    pub fleet: super::fleet::FleetArgs,
}

pub fn run(args: DiffArgs, out: &Out) -> dbsage_core::Result<i32> {
    let project = super::project()?;
    let (from, to) = (Side::parse(&args.from), Side::parse(&args.to));
    out.status(
        "Diffing",
        &format!("{} → {}", from.describe(), to.describe()),
    );
    let report = diff_sides(&project, &from, &to)?;
    let written = match &args.write {
        Some(name) if report.proof.is_clean() && !report.plan.is_empty() => {
            dbsage_diff::pull::write_migrations(
                &project,
                name,
                "-- Written by `dbsage diff` and proven on a throwaway copy. Review the hazards.\n",
                "",
                &report.plan,
            )?
            .iter()
            .map(|p| p.display().to_string())
            .collect()
        }
        _ => Vec::new(),
    };
    if out.json_mode() {
        out.json(&json!({
            "from": report.from,
            "to": report.to,
            "statements": report.plan.statements,
            "possible_renames": report.plan.possible_renames,
            "proof": {
                "clean": report.proof.is_clean(),
                "failure": report.proof.failure,
                "not_handled": report.proof.not_handled,
                "copy": report.proof_copy,
            },
            "written": written,
            "timings": report.timings,
        }));
    } else {
        render(out, &report, &written);
    }
    Ok(if report.proof.is_clean() { 0 } else { 1 })
}

fn render(out: &Out, report: &DiffReport, written: &[String]) {
    if report.plan.is_empty() {
        out.line(&format!(
            "no differences: {} matches {}",
            report.from, report.to
        ));
    } else {
        print_plan(out, &report.plan);
    }
    for rename in &report.plan.possible_renames {
        out.line(&format!(
            "-- possible rename: {} {} → {} (planned as drop + add; if it is a rename, use: {})",
            rename.kind, rename.from, rename.to, rename.rename_sql
        ));
    }
    if report.proof.is_clean() {
        let copy = &report.proof_copy;
        let part = if copy.scope == "affected" {
            format!(
                " (the {} of its {} tables, views, sequences, functions and types the plan affects, and what they need)",
                copy.objects, copy.of
            )
        } else {
            String::new()
        };
        err_line!(
            "{} applied on a throwaway copy of {}{part}, the result matches {}",
            out.paint_err("proof:", Style::Good),
            report.from,
            report.to
        );
    } else {
        if let Some(failure) = &report.proof.failure {
            err_line!(
                "{} statement {} failed on the throwaway copy: {}\n    {}",
                out.paint_err("proof:", Style::Bad),
                failure.statement + 1,
                failure.error,
                failure.sql
            );
        }
        for left in &report.proof.not_handled {
            err_line!("{} {left}", out.paint_err("not handled:", Style::Bad));
        }
    }
    for path in written {
        err_line!("wrote {path}");
    }
}

/// The plan as SQL: the transactional part, then the no-transaction part.
pub fn print_plan(out: &Out, plan: &Plan) {
    out.line(&plan.transactional_sql());
    let after = plan.no_transaction_sql();
    if !after.is_empty() {
        out.line("-- after the transaction, one statement at a time (no transaction):");
        out.line(&after);
    }
}

pub fn run_drift(args: DriftArgs, out: &Out) -> dbsage_core::Result<i32> {
    let (project, files) = super::project_and_files()?;
    if let Some(fleet) = dbsage_core::fleet::resolve(&project, Some(&args.env))? {
        return Ok(super::fleet_reads::drift(
            &project,
            &files,
            &fleet,
            &args.fleet,
            out,
        ));
    }
    let target = dbsage_core::env::Target::resolve(&project, Some(&args.env))?;
    args.fleet.refuse_on_single(&target.name)?;
    super::announce(out, &target);
    let mut client = target.connect(&project, "dbsage drift")?;
    let report = dbsage_diff::drift::check_applied(&project, &files, &mut client)?;
    if out.json_mode() {
        out.json(&json!({
            "environment": args.env,
            "drift": report.has_drift(),
            "differences": report.differences,
            "to_history": report.to_history.statements,
            "to_live": report.to_live.statements,
        }));
    } else if !report.has_drift() {
        out.line(&format!(
            "no drift: {} matches its migration history",
            args.env
        ));
    } else {
        out.line(&format!(
            "drift: {} differs from its migration history",
            args.env
        ));
        for difference in &report.differences {
            out.line(&format!("  {difference}"));
        }
        out.line("\n-- to bring the database back to the history:");
        print_plan(out, &report.to_history);
        out.line("-- or to record the live schema in a new migration:");
        print_plan(out, &report.to_live);
    }
    if report.has_drift() {
        return Ok(1);
    }
    Ok(0)
}

#[derive(Args, Debug)]
pub struct PullArgs {
    /// The environment whose live schema becomes the baseline.
    #[arg(long, short)]
    pub env: String,
    /// The migration's name.
    #[arg(long, default_value = "baseline")]
    pub name: String,
    /// On a protected environment, skip the typed confirmation (CI): still audited.
    #[arg(long)]
    pub yes: bool,
}

pub fn run_pull(args: PullArgs, out: &Out) -> dbsage_core::Result<i32> {
    let project = super::project()?;
    let target = dbsage_core::env::Target::resolve(&project, Some(&args.env))?;
    super::announce(out, &target);
    let (mut client, protection) = target.connect_protected(&project, "dbsage pull")?;
    if let Some(protection) = &protection {
        // Recording history on a protected database goes through the same gate as `repair`.
        let plan = [format!(
            "would write migration `{}` from the live schema and record it as applied (nothing runs)",
            args.name
        )];
        let confirmation = dbsage_core::gates::confirm_protected(
            &target,
            protection,
            "pull",
            &plan,
            args.yes,
            &mut |p| out.ask(p),
        )?;
        dbsage_core::protection::mark(&mut client, &project, &target)?;
        dbsage_core::protection::record_event(
            &mut client,
            &project,
            "protected_confirmed",
            &confirmation,
            json!({ "command": "pull", "plan": plan }),
        )?;
    }
    let report = dbsage_diff::pull::pull(&project, &mut client, &args.name)?;
    let written: Vec<String> = report
        .written
        .iter()
        .map(|p| p.display().to_string())
        .collect();
    if out.json_mode() {
        out.json(&json!({
            "environment": args.env,
            "written": written,
            "statements": report.plan.statements.len(),
            "not_handled": report.not_handled,
        }));
    } else {
        for path in &written {
            out.line(&format!(
                "wrote {path}: proven by replay, recorded as applied on {}",
                args.env
            ));
        }
        for left in &report.not_handled {
            err_line!("{} {left}", out.paint_err("not handled:", Style::Bad));
        }
        if !report.not_handled.is_empty() {
            err_line!("nothing written: the baseline would not recreate the schema above");
        }
    }
    Ok(if report.not_handled.is_empty() { 0 } else { 1 })
}
