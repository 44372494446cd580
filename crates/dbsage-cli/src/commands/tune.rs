//! `dbsage tune` (findings, `--write`) and `dbsage maintain` on an environment.

use std::io::IsTerminal;

use clap::Args;
use serde_json::json;

use dbsage_core::config::Project;
use dbsage_core::env::Target;
use dbsage_core::{gates, protection, Error};
use dbsage_tune::maintain::{self, MaintainConfig, Status};
use dbsage_tune::TuneError;

use crate::output::{Out, Style};

#[derive(Args, Debug)]
#[command(args_conflicts_with_subcommands = true)]
pub struct TuneArgs {
    #[command(subcommand)]
    pub command: Option<super::tune_queries::TuneCommand>,
    /// The environment to read (default: the project's default environment). Read only: a
    /// protected environment is fine.
    #[arg(long, short)]
    pub env: Option<String>,
    /// Write a `-- dbsage:no-transaction` migration NAME with the fixes safe to automate
    /// (indexes for foreign keys, drops of duplicate and redundant indexes).
    #[arg(long, value_name = "NAME")]
    pub write: Option<String>,
    /// Judge unused indexes on statistics at least this old (default 7d; e.g. 1d, 12h, 0).
    #[arg(long, value_name = "DURATION")]
    pub min_stats_age: Option<String>,
    /// Print the catalog queries tune runs, one per line block, and exit (for benchmarks).
    #[arg(long, hide = true)]
    pub print_queries: bool,
    #[command(flatten)]
    pub fleet: super::fleet::FleetArgs,
}

#[derive(Args, Debug)]
pub struct MaintainArgs {
    /// The environment (default: the project's default environment).
    #[arg(long, short)]
    pub env: Option<String>,
    /// Show what would run (and how many rows retention would delete); change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Confirm a protected environment without the typed prompt (scripts, CI).
    #[arg(long, short)]
    pub yes: bool,
}

pub(crate) fn tune_error(e: TuneError) -> Error {
    match e {
        TuneError::Database { context, source } => Error::db(context, source),
        TuneError::BadInput(message) => Error::Config {
            message,
            hint: String::new(),
        },
    }
}

/// `7d`, `12h`, `30min`, `10s`, `0`.
fn parse_age(text: &str) -> Option<std::time::Duration> {
    match text.trim().strip_suffix('d') {
        Some(days) => days
            .trim()
            .parse::<u64>()
            .ok()
            .map(|d| std::time::Duration::from_secs(d * 86_400)),
        None => dbsage_core::config::parse_duration(text),
    }
}

pub fn run_tune(args: TuneArgs, out: &Out) -> dbsage_core::Result<i32> {
    if let Some(super::tune_queries::TuneCommand::Queries(queries)) = args.command {
        return super::tune_queries::run(queries, out);
    }
    if args.print_queries {
        for q in dbsage_tune::findings::catalog_queries() {
            out_line!("{};", q.replace("$1::int8", "128::int8"));
        }
        return Ok(0);
    }
    let mut options = dbsage_tune::TuneOptions::default();
    if let Some(age) = &args.min_stats_age {
        options.min_stats_age = parse_age(age).ok_or_else(|| Error::Config {
            message: format!("--min-stats-age {age:?} is not a duration"),
            hint: "write it like 7d, 12h, 30min or 0".into(),
        })?;
    }
    let project = super::project()?;
    if let Some(fleet) = dbsage_core::fleet::resolve(&project, args.env.as_deref())? {
        if args.write.is_some() {
            return Err(Error::Config {
                message: "--write turns one database's findings into a migration; a fleet has many"
                    .into(),
                hint: "run `dbsage tune --write NAME` on one database's environment".into(),
            });
        }
        return Ok(super::fleet_reads::tune(
            &project,
            &options,
            &fleet,
            &args.fleet,
            out,
        ));
    }
    let target = Target::resolve(&project, args.env.as_deref())?;
    args.fleet.refuse_on_single(&target.name)?;
    super::announce(out, &target);
    let mut client = target.connect(&project, "dbsage tune")?;
    let report = dbsage_tune::tune(&mut client, &options).map_err(tune_error)?;
    let written = match &args.write {
        Some(name) => match dbsage_tune::findings::write::migration_sql(&report.findings) {
            Some(body) => Some(
                dbsage_core::migrations::create(&project.migrations_dir(), name, false, &body)?.0,
            ),
            None => None,
        },
        None => None,
    };
    if out.json_mode() {
        out.json(&json!({
            "findings": report.findings,
            "withheld": report.withheld,
            "statistics": report.statistics,
            "written": written.as_ref().map(|p| super::display_path(p)),
        }));
    } else {
        super::findings::print(out, &report.findings);
        for w in &report.withheld {
            out_line!("{} {}", out.paint("withheld:", Style::Dim), w.reason);
        }
        out_line!(
            "{}",
            out.paint(
                &format!(
                    "usage statistics since {} ({}, {})",
                    report.statistics.since,
                    report.statistics.age_text(),
                    report.statistics.source
                ),
                Style::Dim
            )
        );
        match (&args.write, &written) {
            (_, Some(path)) => out.status(
                "Created",
                &format!(
                    "{} with the fixes safe to automate; `dbsage migrate --local` to test it",
                    super::display_path(path)
                ),
            ),
            (Some(_), None) => out_line!("nothing written: no finding has a fix safe to automate"),
            _ => {}
        }
    }
    Ok(if super::findings::any_error(&report.findings) {
        1
    } else {
        0
    })
}

pub(crate) fn maintain_config(project: &Project) -> dbsage_core::Result<MaintainConfig> {
    match project.config.other.get("maintain") {
        None => Ok(MaintainConfig::default()),
        Some(value) => value.clone().try_into().map_err(|e| Error::Config {
            message: format!("dbsage.toml [maintain]: {e}"),
            hint: "[[maintain.retention]] takes table = \"schema.table\", where = \"…\" and an optional batch_size; [maintain] takes pause_ms".into(),
        }),
    }
}

pub fn run_maintain(args: MaintainArgs, out: &Out) -> dbsage_core::Result<i32> {
    let project = super::project()?;
    let config = maintain_config(&project)?;
    let target = Target::resolve(&project, args.env.as_deref())?;
    super::announce(out, &target);
    let (mut client, protection) = target.connect_protected(&project, "dbsage maintain")?;
    let plan = maintain::plan(&mut client, &config).map_err(tune_error)?;
    if let Some(protection) = protection
        .as_ref()
        .filter(|_| !args.dry_run && !plan.is_empty())
    {
        let lines: Vec<String> = plan.iter().map(|a| format!("  {}", a.sql)).collect();
        let confirmation = gates::confirm_protected(
            &target,
            protection,
            "run maintenance on",
            &lines,
            args.yes,
            &mut |p| out.ask(p),
        )?;
        protection::mark(&mut client, &project, &target)?;
        protection::record_event(
            &mut client,
            &project,
            "protected_confirmed",
            &confirmation,
            json!({ "command": "maintain", "plan": lines }),
        )?;
    }
    let bar = (std::io::stderr().is_terminal() && !out.json_mode()).then(|| {
        let b = indicatif::ProgressBar::new(0);
        b.set_style(
            indicatif::ProgressStyle::with_template("{msg} {bar:30} {pos}/{len} rows eta {eta}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        b
    });
    let done = maintain::run(&mut client, plan, &config, args.dry_run, &mut |p| {
        if let Some(b) = &bar {
            b.set_length(p.total.max(0) as u64);
            b.set_position(p.deleted.max(0) as u64);
            b.set_message(p.table.to_string());
        }
    })
    .map_err(tune_error)?;
    if let Some(b) = &bar {
        b.finish_and_clear();
    }
    let failed = done.iter().any(|a| a.status == Status::Failed);
    if out.json_mode() {
        out.json(&json!({ "dry_run": args.dry_run, "actions": done }));
    } else {
        if done.is_empty() {
            out_line!("nothing to do: statistics fresh, dead rows under autovacuum's thresholds, no invalid or bloated index, no retention rule");
        }
        for a in &done {
            let status = match a.status {
                Status::Ran => out.paint("ran", Style::Good),
                Status::Planned => out.paint("would run", Style::Dim),
                Status::Failed => out.paint("FAILED", Style::Bad),
                Status::Skipped => out.paint("skipped", Style::Warn),
            };
            let rows = match (a.rows, a.batches) {
                (Some(r), Some(b)) => format!(", {r} rows in {b} transactions"),
                _ => String::new(),
            };
            out_line!("{status} {}{rows} ({})", a.sql, a.reason);
            if let Some(detail) = &a.detail {
                out_line!("    {detail}");
            }
        }
    }
    Ok(if failed { 1 } else { 0 })
}
