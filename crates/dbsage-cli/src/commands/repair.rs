use clap::Args;
use serde_json::json;

use dbsage_core::env::Target;
use dbsage_core::{gates, protection};

use crate::output::Out;

#[derive(Args, Debug)]
#[command(group(clap::ArgGroup::new("action").required(true).args(["accept_checksum", "forget", "mark_applied"])))]
pub struct RepairArgs {
    /// The applied migration was edited harmlessly (comments, formatting): record the file's
    /// current checksum as applied.
    #[arg(long, value_name = "VERSION")]
    pub accept_checksum: Option<String>,
    /// The applied migration's file was deleted on purpose: remove its history row.
    #[arg(long, value_name = "VERSION")]
    pub forget: Option<String>,
    /// The migration was applied by hand (a baseline, a hotfix in psql): record it as applied
    /// without running it.
    #[arg(long, value_name = "VERSION")]
    pub mark_applied: Option<String>,
    /// Why (required; recorded in the audit log).
    #[arg(long, required = true)]
    pub reason: String,
    /// Environment: a name from dbsage.toml, `dev` (default), or DATABASE_URL.
    #[arg(long, short)]
    pub env: Option<String>,
    /// Do not ask for confirmation on a protected database (for scripts and CI).
    #[arg(long, short)]
    pub yes: bool,
}

pub fn run(args: RepairArgs, out: &Out) -> dbsage_core::Result<i32> {
    let (project, files) = super::project_and_files()?;
    let target = Target::resolve(&project, args.env.as_deref())?;
    super::announce(out, &target);
    let (mut client, protection) = target.connect_protected(&project, "dbsage repair")?;
    if let Some(protection) = &protection {
        let plan = match (&args.accept_checksum, &args.forget, &args.mark_applied) {
            (Some(v), _, _) => {
                format!("would record the current checksum of {v}'s file as applied")
            }
            (_, Some(v), _) => format!("would remove {v}'s history row (forget it)"),
            (_, _, Some(v)) => format!("would record {v} as applied by hand (nothing runs)"),
            _ => unreachable!("clap requires one action"),
        };
        let plan = [plan, format!("reason: {}", args.reason)];
        let confirmation =
            gates::confirm_protected(&target, protection, "repair", &plan, args.yes, &mut |p| {
                out.ask(p)
            })?;
        protection::mark(&mut client, &project, &target)?;
        protection::record_event(
            &mut client,
            &project,
            "protected_confirmed",
            &super::override_reason::with_reason(&confirmation, Some(&args.reason)),
            json!({ "command": "repair", "plan": plan }),
        )?;
    }
    let repaired = if let Some(version) = &args.accept_checksum {
        dbsage_core::rollback::accept_checksum(
            &mut client,
            &project,
            &files,
            version,
            &args.reason,
        )?
    } else if let Some(version) = &args.mark_applied {
        dbsage_core::mark_applied::mark_applied(
            &mut client,
            &project,
            &files,
            version,
            &args.reason,
        )?
    } else {
        let version = args.forget.as_deref().expect("clap requires one action");
        dbsage_core::rollback::forget(&mut client, &project, &files, version, &args.reason)?
    };
    if out.json_mode() {
        out.json(&json!({ "environment": target.name, "repaired": repaired }));
    } else {
        out.status(
            "Repaired",
            &format!(
                "{} ({}), recorded in the audit log",
                repaired.version, repaired.action
            ),
        );
    }
    Ok(0)
}
