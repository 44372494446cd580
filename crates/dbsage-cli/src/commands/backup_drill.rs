//! `dbsage backup drill`: arguments and rendering; the workflow is `dbsage_backup::drill`'s.

use clap::Args;

use dbsage_backup::drill::DrillOptions;
use dbsage_core::env::Target;

use crate::output::{Out, Style};

#[derive(Args, Debug)]
#[command(
    after_help = "Exit codes: 0 the drill passed (recorded in .dbsage/drills.json), 1 it failed (recorded too), 2 usage error (no backup for --latest, broken smoke test file)."
)]
pub struct DrillArgs {
    /// Environment to drill: a name from dbsage.toml, `dev` (default), or DATABASE_URL.
    #[arg(long, short)]
    pub env: Option<String>,
    /// Drill on the newest existing backup of the environment instead of taking a new one.
    #[arg(long)]
    pub latest: bool,
    /// pg_dump's and pg_restore's parallel jobs.
    #[arg(long, default_value_t = 2)]
    pub jobs: u32,
}

pub fn run(
    args: DrillArgs,
    out: &Out,
    progress: &dyn dbsage_backup::Progress,
) -> dbsage_core::Result<i32> {
    let project = super::project()?;
    let target = Target::resolve(&project, args.env.as_deref())?;
    super::announce(out, &target);
    let options = DrillOptions {
        latest: args.latest,
        jobs: args.jobs,
    };
    let (drill, _) = dbsage_backup::drill::drill(&project, &target, &options, progress)?;
    let code = if drill.ok { 0 } else { 1 };
    if out.json_mode() {
        out.json(&serde_json::to_value(&drill).expect("a drill serialises"));
        return Ok(code);
    }
    out.line(&format!(
        "Drill of `{}` on backup {} ({}), data as of {}",
        drill.environment,
        drill.backup_id,
        if drill.took_backup {
            "taken now"
        } else {
            "the latest"
        },
        drill.data_as_of
    ));
    out.line(&format!(
        "  restored and verified on a throwaway cluster: {}",
        if drill.verified { "yes" } else { "NO" }
    ));
    out.line(&format!(
        "  smoke tests: {}{}",
        drill.smoke.status,
        match drill.smoke.status.as_str() {
            "skipped" => format!(" ({})", drill.smoke.note.clone().unwrap_or_default()),
            _ => format!(
                " ({} passed, {} failed)",
                drill.smoke.passed, drill.smoke.failed
            ),
        }
    ));
    out.line(&format!(
        "  achieved RPO {} s (age of the restored data), RTO {} (measured restore)",
        drill.rpo_seconds,
        drill
            .rto_ms
            .map(|ms| format!("{:.2} s", ms as f64 / 1000.0))
            .unwrap_or_else(|| "-".into())
    ));
    if drill.ok {
        out.status(
            "Drill passed",
            "recorded in .dbsage/drills.json (`dbsage health` checks its age)",
        );
    } else {
        out.line(&out.paint(
            &format!(
                "drill FAILED ({} problems), recorded in .dbsage/drills.json:",
                drill.problems.len()
            ),
            Style::Bad,
        ));
        for p in &drill.problems {
            out.line(&format!("  - {p}"));
        }
    }
    Ok(code)
}
