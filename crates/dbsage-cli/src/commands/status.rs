use clap::Args;
use comfy_table::{presets::UTF8_FULL_CONDENSED, Table};
use serde_json::json;

use dbsage_core::env::Target;
use dbsage_core::migrate::{self, State};
use dbsage_core::partial::{Direction, PartialRun};

use crate::output::{Out, Style};

#[derive(Args, Debug)]
pub struct StatusArgs {
    /// Environment: a name from dbsage.toml, `dev` (default), or DATABASE_URL.
    #[arg(long, short)]
    pub env: Option<String>,
    /// Every environment of dbsage.toml (and the default one) in one table; an unreachable one
    /// is shown as such.
    #[arg(long, conflicts_with = "env")]
    pub all: bool,
    #[command(flatten)]
    pub fleet: super::fleet::FleetArgs,
}

pub fn run(args: StatusArgs, out: &Out) -> dbsage_core::Result<i32> {
    let (project, files) = super::project_and_files()?;
    if args.all {
        return Ok(super::status_all::run(&project, &files, out));
    }
    if let Some(fleet) = dbsage_core::fleet::resolve(&project, args.env.as_deref())? {
        return Ok(super::fleet_reads::status(
            &project,
            &files,
            &fleet,
            &args.fleet,
            out,
        ));
    }
    let target = Target::resolve(&project, args.env.as_deref())?;
    args.fleet.refuse_on_single(&target.name)?;
    super::announce(out, &target);
    let mut client = target.connect(&project, "dbsage status")?;
    super::learn_lint_skipped::learn(&mut client, &project, &target, out);
    let entries = migrate::status(&mut client, &project, &files)?;
    let inconsistent = entries
        .iter()
        .any(|e| matches!(e.state, State::Modified | State::Missing | State::Partial));
    // Shown, never a reason to fail: status is about the environment.
    let local = local_version(&project);
    if out.json_mode() {
        let mut value = json!({ "environment": target.name, "migrations": entries });
        if let Some((t, install, differing)) = &local {
            value["local_pg_version"] =
                super::pg_version::json(t, install.as_ref().map(|i| i.version.as_str()));
            value["environments_differing"] = super::pg_version::differing_json(differing);
        }
        out.json(&value);
    } else {
        out.line(&format!(
            "{} ({})",
            out.paint(&target.name, Style::Bold),
            target.display
        ));
        if entries.is_empty() {
            out.line("no migrations yet: create one with `dbsage new NAME`");
        } else {
            let mut table = Table::new();
            table.load_preset(UTF8_FULL_CONDENSED).set_header(vec![
                "version",
                "name",
                "state",
                "applied at",
            ]);
            for e in &entries {
                let state = match e.state {
                    State::Applied => out.paint("applied", Style::Good),
                    State::Pending if e.out_of_order => {
                        out.paint("pending (out of order)", Style::Warn)
                    }
                    State::Pending => out.paint("pending", Style::Warn),
                    State::Modified => out.paint("modified", Style::Bad),
                    State::Missing => out.paint("missing", Style::Bad),
                    State::Partial => out.paint("partial", Style::Bad),
                };
                table.add_row(vec![
                    e.version.clone(),
                    e.name.clone(),
                    state,
                    // Rows still in the other tool's history have no time: say whose they are.
                    e.applied_at
                        .clone()
                        .filter(|at| !at.is_empty())
                        .or_else(|| e.applied_by.clone())
                        .unwrap_or_default(),
                ]);
            }
            out.line(&table.to_string());
            for e in &entries {
                if let Some(p) = &e.partial {
                    out.line(&partial_note(&e.version, &e.name, p));
                }
            }
            out.line(&summary(&entries));
        }
        if let Some((t, install, differing)) = &local {
            out.line(&super::pg_version::line_or_missing(t, install.as_ref()));
            super::pg_version::warn_differing(out, differing, t);
        }
    }
    Ok(if inconsistent { 1 } else { 0 })
}

/// "3 applied, 1 pending, 1 modified, 1 missing": applied and pending always, the states that
/// block a migrate only when present.
pub(crate) fn summary(entries: &[migrate::StatusEntry]) -> String {
    let count = |state: State| entries.iter().filter(|e| e.state == state).count();
    let mut parts = vec![
        format!("{} applied", count(State::Applied)),
        format!("{} pending", count(State::Pending)),
    ];
    for (state, word) in [
        (State::Modified, "modified"),
        (State::Missing, "missing"),
        (State::Partial, "partial"),
    ] {
        let n = count(state);
        if n > 0 {
            parts.push(format!("{n} {word}"));
        }
    }
    parts.join(", ")
}

/// What ran of a half-done migration and the fix, under the table.
fn partial_note(version: &str, name: &str, p: &PartialRun) -> String {
    let file = match p.direction {
        Direction::Up => format!("{version}_{name}"),
        Direction::Down => format!("the down file of {version}_{name}"),
    };
    let what = match p.statements_done {
        Some(done) if !p.interrupted => format!(
            "{done}/{} statements ran: {}",
            p.statements_total,
            p.ran.join("; ")
        ),
        _ => format!(
            "interrupted at {}; any of its {} may have run: {}",
            p.at,
            dbsage_core::wording::plural(p.statements_total, "statement"),
            p.ran.join("; ")
        ),
    };
    format!("{file} is partial: {what}\n  fix: {}", p.fix)
}

/// The local clusters' version, its installation (`None`: not installed), and the environments
/// last reached on another major version.
pub(crate) type LocalVersion = (
    dbsage_core::pg_version::TargetVersion,
    Option<dbsage_cluster::PgInstall>,
    Vec<(String, dbsage_core::pg_version::KnownVersion)>,
);

/// Shown by `status` and `status --all`, never a reason to fail.
pub(crate) fn local_version(project: &dbsage_core::config::Project) -> Option<LocalVersion> {
    dbsage_core::pg_version::resolve(project).ok().map(|t| {
        let install = dbsage_cluster::PgInstall::find_major(Some(t.major)).ok();
        let differing = dbsage_core::pg_version::differing(project, t.major);
        (t, install, differing)
    })
}
