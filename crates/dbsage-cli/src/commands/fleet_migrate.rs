//! `dbsage migrate --env FLEET`: the gates once for the whole fleet, then `migrate::run` on
//! every database through the fan-out runner.
//!
//! Each database is reached with `Target::connect_protected`, as a single environment is, and
//! its own protection is read there: a database found protected is written only when the
//! fleet's gates passed (a protected fleet), under the fleet's name. A fleet that is not
//! configured `protected = true` never writes to a database that is marked protected.

use std::cell::Cell;
use std::time::Instant;

use serde_json::json;

use dbsage_core::config::Project;
use dbsage_core::env::Target;
use dbsage_core::fleet::Fleet;
use dbsage_core::gates::{self, GateOptions, Protection};
use dbsage_core::migrate::{self, Planned, Progress, RunOptions, State};
use dbsage_core::migrations::MigrationFile;
use dbsage_core::{protection, Error, Result};

use super::fleet::{self as fleet_cli, Row};
use super::migrate::MigrateArgs;
use crate::output::Out;

pub fn run(
    args: &MigrateArgs,
    project: &Project,
    files: &[MigrationFile],
    fleet: &Fleet,
    out: &Out,
) -> Result<i32> {
    if args.sql {
        return Err(Error::Config {
            message: "--dry-run --sql prints one database's script: a fleet has many".into(),
            hint: "drop --sql for the fleet's plan, or run it on one database's environment".into(),
        });
    }
    fleet_cli::announce(out, fleet);
    // As on a single unprotected environment, the pending files' findings first; pending is
    // judged on the first database (a fleet moves in step), which may be unreachable: then
    // its row says why.
    if !fleet.protected && !args.dry_run && !out.json_mode() {
        if let Ok(mut client) = fleet.targets[0].connect(project, "dbsage migrate") {
            super::pending_lint::show(&mut client, project, files, &fleet.name, out)?;
        }
    }
    let audit = if fleet.protected && !args.dry_run {
        Some(fleet_gates(args, project, files, fleet, out)?)
    } else {
        None
    };
    let work = |target: &Target| -> Result<Row> {
        if args.dry_run {
            plan_one(args, project, files, target)
        } else {
            migrate_one(args, project, files, fleet, audit.as_deref(), target)
        }
    };
    let report = fleet_cli::run(out, fleet, &args.fleet, &work);
    Ok(fleet_cli::render(out, fleet, "migrate", &report))
}

/// Lint, the local pass and one typed confirmation for the whole fleet, after a read-only
/// plan of every database (what each would apply). Returns the audit events to record on each.
fn fleet_gates(
    args: &MigrateArgs,
    project: &Project,
    files: &[MigrationFile],
    fleet: &Fleet,
    out: &Out,
) -> Result<Vec<(String, String)>> {
    let plan = |target: &Target| -> Result<Vec<Planned>> {
        let (mut client, _) = target.connect_protected(project, "dbsage migrate")?;
        Ok(dry_run(&mut client, args, project, files)?.planned)
    };
    let planned = plan_fleet(files, fleet, args.fleet.parallel, &plan, out);
    let gate = gate_fleet(
        project,
        files,
        fleet,
        &planned,
        &GateOptions {
            yes: args.yes,
            skip_local_check: args.skip_local_check,
            skip_lint: args.skip_lint,
        },
        &format!(
            "migrate {} of",
            dbsage_core::wording::plural(fleet.targets.len(), "database")
        ),
        out,
    )?;
    for (_, reason) in &gate.overrides {
        out.warn(reason);
    }
    Ok(super::override_reason::with_override_reason(
        gate.audit_events(),
        &gate.overrides,
        args.reason.as_deref(),
    ))
}

/// What the databases of a fleet would apply, read before its gate.
pub struct FleetPlan {
    /// Every version pending somewhere, once, in file order: what lint and the plan judge.
    pub union: Vec<Planned>,
    /// Databases with something pending.
    pub pending_on: usize,
    /// Databases that could not be planned now (their rows say why later).
    pub unreachable: Vec<String>,
}

/// Plans every database of the fleet with `plan` (read only), `parallel` at a time.
pub fn plan_fleet(
    files: &[MigrationFile],
    fleet: &Fleet,
    parallel: Option<u16>,
    plan: &(dyn Fn(&Target) -> Result<Vec<Planned>> + Sync),
    out: &Out,
) -> FleetPlan {
    out.status(
        "Planning",
        &format!(
            "{} (read only)",
            dbsage_core::wording::plural(fleet.targets.len(), "database")
        ),
    );
    let planned = dbsage_core::fan_out::run(
        &fleet.targets,
        &fleet_cli::FleetArgs {
            parallel,
            ..Default::default()
        }
        .options(),
        plan,
        &|_| {},
    );
    let mut union: Vec<Planned> = Vec::new();
    let mut pending_on = 0;
    let mut unreachable = Vec::new();
    for run in &planned.runs {
        match &run.outcome {
            dbsage_core::fan_out::Outcome::Done(list) => {
                if !list.is_empty() {
                    pending_on += 1;
                }
                for p in list {
                    if !union.iter().any(|u| u.version == p.version) {
                        union.push(p.clone());
                    }
                }
            }
            _ => unreachable.push(run.target.clone()),
        }
    }
    union.sort_by(|a, b| {
        let pos = |v: &str| files.iter().position(|f| f.version == v);
        pos(&a.version).cmp(&pos(&b.version))
    });
    FleetPlan {
        union,
        pending_on,
        unreachable,
    }
}

/// The protected fleet's gates, asked once: `gates::check` showing the fleet's size and
/// `plan.union`, with the fleet's name to type.
pub fn gate_fleet(
    project: &Project,
    files: &[MigrationFile],
    fleet: &Fleet,
    plan: &FleetPlan,
    options: &GateOptions,
    what: &str,
    out: &Out,
) -> Result<gates::GateOutcome> {
    let mut gate_target = fleet.targets[0].clone();
    gate_target.display = format!(
        "fleet of {} from {}: {} with pending migrations{}",
        dbsage_core::wording::plural(fleet.targets.len(), "database"),
        fleet.source,
        plan.pending_on,
        if plan.unreachable.is_empty() {
            String::new()
        } else {
            format!(", {} not reachable now", plan.unreachable.len())
        }
    );
    let fleet_protection = Protection {
        name: fleet.name.clone(),
        marked_as: Vec::new(),
        configured: true,
    };
    gates::check(
        project,
        &gate_target,
        &fleet_protection,
        files,
        &plan.union,
        options,
        what,
        &mut |prompt| out.ask(prompt),
    )
}

fn dry_run(
    client: &mut postgres::Client,
    args: &MigrateArgs,
    project: &Project,
    files: &[MigrationFile],
) -> Result<migrate::RunOutcome> {
    migrate::run(
        client,
        project,
        files,
        &mut RunOptions {
            dry_run: true,
            to: args.to.clone(),
            allow_out_of_order: args.allow_out_of_order,
            ..Default::default()
        },
        &mut |_| {},
    )
}

/// `--dry-run` on one database: what would run there.
fn plan_one(
    args: &MigrateArgs,
    project: &Project,
    files: &[MigrationFile],
    target: &Target,
) -> Result<Row> {
    let mut client = target.connect(project, "dbsage migrate")?;
    let planned = dry_run(&mut client, args, project, files)?.planned;
    let mut row = Row::ok(if planned.is_empty() {
        "up to date".into()
    } else {
        format!(
            "would apply {}",
            dbsage_core::wording::plural(planned.len(), "migration")
        )
    });
    row.version = newest_applied(&mut client, project, files)?;
    row.json.insert("planned".into(), json!(planned));
    Ok(row)
}

/// One database: its own protection checked against the fleet's gates, then `migrate::run`.
fn migrate_one(
    args: &MigrateArgs,
    project: &Project,
    files: &[MigrationFile],
    fleet: &Fleet,
    gate_audit: Option<&[(String, String)]>,
    target: &Target,
) -> Result<Row> {
    let (mut client, found) = target.connect_protected(project, "dbsage migrate")?;
    if let Some(found) = &found {
        dbsage_core::fleet::refuse_unless_gated(
            &fleet.name,
            target,
            found,
            gate_audit.is_some(),
            "migrate",
        )?;
        protection::mark(&mut client, project, target)?;
    }
    let waiting_since: Cell<Option<Instant>> = Cell::new(None);
    let lock_wait_ms: Cell<Option<u64>> = Cell::new(None);
    let mut applied = Vec::new();
    let stop_waiting = || {
        if let Some(since) = waiting_since.take() {
            lock_wait_ms.set(Some(since.elapsed().as_millis() as u64));
        }
    };
    let result = migrate::run(
        &mut client,
        project,
        files,
        &mut RunOptions {
            to: args.to.clone(),
            allow_out_of_order: args.allow_out_of_order,
            audit: gate_audit.map(<[_]>::to_vec).unwrap_or_default(),
            ..Default::default()
        },
        &mut |p| match p {
            Progress::WaitingForLock(_) => waiting_since.set(Some(Instant::now())),
            Progress::Applying(_) => stop_waiting(),
            Progress::Applied(a) => applied.push(a.clone()),
        },
    );
    stop_waiting();
    result?;
    let mut row = Row::ok(if applied.is_empty() {
        "up to date".into()
    } else {
        format!(
            "applied {}",
            dbsage_core::wording::plural(applied.len(), "migration")
        )
    });
    row.version = newest_applied(&mut client, project, files)?;
    row.lock_wait_ms = Some(lock_wait_ms.get().unwrap_or(0));
    row.json.insert("applied".into(), json!(applied));
    Ok(row)
}

/// The newest applied migration of the database, for the table's version column.
pub fn newest_applied(
    client: &mut postgres::Client,
    project: &Project,
    files: &[MigrationFile],
) -> Result<Option<String>> {
    Ok(migrate::status(client, project, files)?
        .into_iter()
        .filter(|e| e.state == State::Applied)
        .map(|e| e.version)
        .next_back())
}
