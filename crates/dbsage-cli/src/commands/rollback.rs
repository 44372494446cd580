use clap::Args;
use serde_json::json;

use dbsage_core::config::Project;
use dbsage_core::env::Target;
use dbsage_core::gates;
use dbsage_core::migrations::MigrationFile;
use dbsage_core::protection;

use crate::output::{Out, Style};

#[derive(Args, Debug)]
pub struct RollbackArgs {
    /// Environment: a name from dbsage.toml, `dev` (default), or DATABASE_URL.
    #[arg(long, short)]
    pub env: Option<String>,
    /// How many of the newest applied migrations to undo (1 or more).
    #[arg(long, default_value_t = 1, value_parser = parse_steps)]
    pub steps: usize,
    /// Without a down file: save the reverse guidance as a new forward migration.
    #[arg(long)]
    pub write: bool,
    /// Do not ask for confirmation on a protected environment.
    #[arg(long, short)]
    pub yes: bool,
    /// Why a protected environment is rolled back: recorded with the confirmation in the audit
    /// log.
    #[arg(long, value_name = "TEXT")]
    pub reason: Option<String>,
}

/// `--steps 0` would roll nothing back and still ask and audit: a usage error instead.
fn parse_steps(text: &str) -> Result<usize, String> {
    match text.parse::<usize>() {
        Ok(0) => Err(
            "0 rolls nothing back: give 1 or more (the newest applied migrations to roll back)"
                .into(),
        ),
        Ok(n) => Ok(n),
        Err(_) => Err(format!(
            "{text:?} is not a number of migrations: give 1 or more"
        )),
    }
}

pub fn run(args: RollbackArgs, out: &Out) -> dbsage_core::Result<i32> {
    let (project, files) = super::project_and_files()?;
    let target = Target::resolve(&project, args.env.as_deref())?;
    super::announce(out, &target);
    let (mut client, protection) = target.connect_protected(&project, "dbsage rollback")?;
    if let Some(protection) = &protection {
        // A rollback is not a new migration set: only the confirmation gate applies.
        let plan = rollback_plan(&mut client, &project, &files, args.steps)?;
        let confirmation = gates::confirm_protected(
            &target,
            protection,
            "roll back",
            &plan,
            args.yes,
            &mut |p| out.ask(p),
        )?;
        protection::mark(&mut client, &project, &target)?;
        protection::record_event(
            &mut client,
            &project,
            "protected_confirmed",
            &super::override_reason::with_reason(&confirmation, args.reason.as_deref()),
            json!({ "command": "rollback", "steps": args.steps, "plan": plan }),
        )?;
    }
    let outcome =
        dbsage_core::rollback::rollback(&mut client, &project, &files, args.steps, args.write)?;
    let incomplete = outcome
        .guidance
        .as_ref()
        .is_some_and(|g| g.written.is_none());
    if out.json_mode() {
        out.json(&json!({
            "environment": target.name,
            "rolled_back": outcome.rolled_back,
            "guidance": outcome.guidance,
            "notes": outcome.notes,
        }));
    } else {
        for note in &outcome.notes {
            out.warn(note);
        }
        for r in &outcome.rolled_back {
            out.status(
                "Rolled back",
                &format!("{}_{} in {} ms", r.version, r.name, r.duration_ms),
            );
        }
        if outcome.rolled_back.is_empty() && outcome.guidance.is_none() {
            out.line(&format!(
                "{}: nothing is applied, nothing to roll back",
                target.name
            ));
        }
        if let Some(g) = &outcome.guidance {
            // No heading over an empty list.
            if g.guidance.statements.is_empty() {
                out.line(&format!(
                    "{}_{} has no down file, and no reverse statement could be derived from it.",
                    g.version, g.name
                ));
            } else {
                out.line(&format!(
                    "{}_{} has no down file. Reverse statements derived from the migration:",
                    g.version, g.name
                ));
            }
            for s in &g.guidance.statements {
                out.line(&format!("  {s}"));
            }
            if !g.guidance.irreversible.is_empty() {
                out.line(&out.paint("Cannot be reversed automatically:", Style::Warn));
                for i in &g.guidance.irreversible {
                    out.line(&format!(
                        "  line {}: {} — {}",
                        i.line, i.statement, i.reason
                    ));
                }
            }
            match &g.written {
                Some(path) => out.status("Created", &format!("{} (review it, then `dbsage migrate`)", super::display_path(path))),
                None => out.line("Save this as a new forward migration with `dbsage rollback --write`, or add a .down.sql file."),
            }
        }
    }
    Ok(if incomplete { 1 } else { 0 })
}

/// What `rollback --steps N` would undo, newest first, for the protected prompt: the
/// migrations with a down file, up to the first one without (guidance only, nothing runs).
fn rollback_plan(
    client: &mut postgres::Client,
    project: &Project,
    files: &[MigrationFile],
    steps: usize,
) -> dbsage_core::Result<Vec<String>> {
    let applied = dbsage_core::history::read(client, &project.history_table())?;
    let mut plan = Vec::new();
    for row in applied.iter().rev().take(steps) {
        let label = format!("{}_{}", row.version, row.name);
        match files.iter().find(|f| f.version == row.version) {
            Some(file) => match &file.down {
                Some(down) => {
                    let mode = if dbsage_sql::is_no_transaction(&down.text) {
                        "no-transaction"
                    } else {
                        "transaction"
                    };
                    plan.push(format!("  undo {label} with its down file ({mode})"));
                }
                None => {
                    plan.push(format!(
                        "  {label} has no down file: reverse guidance only, nothing runs"
                    ));
                    break;
                }
            },
            None => {
                plan.push(format!("  {label}: its file is missing, nothing runs"));
                break;
            }
        }
    }
    if plan.is_empty() {
        plan.push("nothing is applied: nothing would be rolled back".into());
    } else {
        plan.insert(0, "would roll back:".into());
    }
    Ok(plan)
}
