//! `dbsage move` (`move` is a Rust keyword): arguments, the confirmation, the preflight
//! checklist and the reports. The workflow is `dbsage_move`'s.

use std::time::Duration;

use clap::{Args, Subcommand, ValueEnum};
use serde_json::json;

use dbsage_core::config::{parse_duration, Project};
use dbsage_core::env::Target;
use dbsage_move::gates::{Approval, Ask};
use dbsage_move::preflight::Preflight;
use dbsage_move::{CutoverOptions, DumpOptions, Method, ReplicateOptions};

use crate::output::{Out, Style};

#[derive(Args, Debug)]
#[command(args_conflicts_with_subcommands = true)]
pub struct MoveArgs {
    #[command(subcommand)]
    pub action: Option<MoveAction>,
    #[command(flatten)]
    pub pair: Pair,
    /// dump: a maintenance window (source read-only until the cutover); replicate: logical
    /// replication now, `dbsage move cutover` later.
    #[arg(long, value_enum, default_value_t = MethodArg::Dump)]
    pub method: MethodArg,
    /// Do not ask for the source's name (for scripts).
    #[arg(long, short)]
    pub yes: bool,
    /// A dry run of --method dump: the source stays writable (the target is a copy, not a move).
    #[arg(long)]
    pub keep_source_writable: bool,
    /// pg_dump's and pg_restore's parallel jobs.
    #[arg(long, default_value_t = 2)]
    pub jobs: u32,
    /// How long in-flight transactions on the source may take to finish before their sessions
    /// are ended (`10s`, `2min`).
    #[arg(long, default_value = "10s", value_parser = duration)]
    pub drain: Duration,
}

#[derive(Args, Debug, Clone)]
pub struct Pair {
    /// The environment whose database moves.
    #[arg(long)]
    pub from: Option<String>,
    /// The environment it moves to (an empty database on the new server).
    #[arg(long)]
    pub to: Option<String>,
}

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum MethodArg {
    Dump,
    Replicate,
}

#[derive(Subcommand, Debug)]
pub enum MoveAction {
    /// The checklist alone: sizes, versions, extensions, owners, sessions, what blocks the move.
    #[command(
        after_help = "Exit codes: 0 nothing blocks the move, 3 a blocker (listed), 2 usage error."
    )]
    Preflight(PreflightArgs),
    /// A replication move's initial sync per table and its lag.
    Status(Pair),
    /// End a replication move: source read-only, lag 0, sequences, counts, subscription dropped.
    Cutover(CutoverArgs),
    /// Stop a replication move: subscription, slot and publication dropped; the source untouched.
    Abort(AbortArgs),
}

#[derive(Args, Debug)]
pub struct PreflightArgs {
    #[command(flatten)]
    pub pair: Pair,
    #[arg(long, value_enum, default_value_t = MethodArg::Dump)]
    pub method: MethodArg,
}

#[derive(Args, Debug)]
pub struct AbortArgs {
    #[command(flatten)]
    pub pair: Pair,
    /// Do not ask on a protected source or target (for scripts).
    #[arg(long, short)]
    pub yes: bool,
}

#[derive(Args, Debug)]
pub struct CutoverArgs {
    #[command(flatten)]
    pub pair: Pair,
    /// Do not ask for the source's name (for scripts).
    #[arg(long, short)]
    pub yes: bool,
    /// How long in-flight transactions may take before their sessions are ended.
    #[arg(long, default_value = "10s", value_parser = duration)]
    pub drain: Duration,
    /// How long to wait for the initial copy, then for lag 0.
    #[arg(long, default_value = "5min", value_parser = duration)]
    pub wait: Duration,
}

fn duration(text: &str) -> Result<Duration, String> {
    parse_duration(text).ok_or_else(|| format!("`{text}` is not a duration (10s, 2min, 500ms)"))
}

impl MethodArg {
    fn method(self) -> Method {
        match self {
            MethodArg::Dump => Method::Dump,
            MethodArg::Replicate => Method::Replicate,
        }
    }
}

struct Steps<'a>(&'a Out);
impl dbsage_move::dump::Progress for Steps<'_> {
    fn step(&self, what: &str) {
        self.0.status("Moving", what);
    }
}

pub fn run(args: MoveArgs, out: &Out) -> dbsage_core::Result<i32> {
    match args.action {
        Some(MoveAction::Preflight(a)) => return preflight(a, out),
        Some(MoveAction::Status(a)) => return status(a, out),
        Some(MoveAction::Cutover(a)) => return cutover(a, out),
        Some(MoveAction::Abort(a)) => return abort(a, out),
        None => {}
    }
    let project = super::project()?;
    let (from, to) = resolve(&project, &args.pair)?;
    let method = args.method.method();
    if args.keep_source_writable && method == Method::Replicate {
        return Err(dbsage_core::Error::Config {
            message: "--keep-source-writable is for --method dump: replication keeps the source writable until `dbsage move cutover`".into(),
            hint: "drop --keep-source-writable".into(),
        });
    }
    if method == Method::Replicate {
        dbsage_move::replicate::refuse_in_progress(&project, &from, &to)?;
    }
    let checklist = dbsage_move::preflight::check(&project, &from, &to, method)?;
    if !out.json_mode() {
        render_preflight(out, &checklist);
    }
    if let Some(refusal) = checklist.refusal() {
        if out.json_mode() {
            out.json(
                &json!({ "preflight": checklist, "error": crate::output::error_json(&refusal) }),
            );
            return Ok(refusal.exit_code());
        }
        return Err(refusal);
    }
    let steps = Steps(out);
    match method {
        Method::Dump => {
            let options = DumpOptions {
                jobs: args.jobs,
                keep_source_writable: args.keep_source_writable,
                drain: args.drain,
                work_dir: None,
            };
            let report = dbsage_move::dump(
                &project,
                &from,
                &to,
                &options,
                &steps,
                &mut ask(out, args.yes),
            )?;
            if out.json_mode() {
                out.json(&serde_json::to_value(&report).expect("a report serialises"));
                return Ok(0);
            }
            if let Some(d) = &report.read_only {
                out.line(&read_only_line(&from.name, d));
            }
            out.line(&format!(
                "Moved `{}` → `{}` in {:.1} s (pg_dump {:.1} s, pg_restore {:.1} s, compare {:.1} s; pg_dump {})",
                from.name,
                to.name,
                report.total_ms as f64 / 1000.0,
                report.dump_ms as f64 / 1000.0,
                report.restore_ms as f64 / 1000.0,
                report.compare_ms as f64 / 1000.0,
                report.pg_dump_version
            ));
            render_comparison(out, &report.comparison);
            render_gates(out, &report.gates, &report.audit_logs);
            render_steps(out, &report.cutover_steps);
        }
        Method::Replicate => {
            let report = dbsage_move::start(
                &project,
                &from,
                &to,
                &ReplicateOptions { jobs: args.jobs },
                &steps,
                &mut ask(out, args.yes),
            )?;
            if out.json_mode() {
                out.json(&serde_json::to_value(&report).expect("a report serialises"));
                return Ok(0);
            }
            out.line(&format!(
                "Replicating `{}` → `{}`: schema copied in {:.1} s, publication and subscription `{}` on {} tables",
                from.name,
                to.name,
                report.schema_ms as f64 / 1000.0,
                report.subscription,
                report.tables.len()
            ));
            render_gates(out, &report.gates, &report.audit_logs);
            out.line(&format!(
                "  the source stays writable; follow the initial copy with `dbsage move status`, then `dbsage move cutover --from {} --to {}`",
                from.name, to.name
            ));
        }
    }
    Ok(0)
}

fn resolve(project: &Project, pair: &Pair) -> dbsage_core::Result<(Target, Target)> {
    let (Some(from), Some(to)) = (&pair.from, &pair.to) else {
        return Err(dbsage_core::Error::Config {
            message: "`dbsage move` needs --from and --to".into(),
            hint: "dbsage move --from <environment> --to <environment> [--method dump|replicate]"
                .into(),
        });
    };
    Ok((
        Target::resolve(project, Some(from))?,
        Target::resolve(project, Some(to))?,
    ))
}

/// The gates ask on the terminal (the source's or the protection's name typed), or --yes.
fn ask(out: &Out, yes: bool) -> Ask<'_> {
    Ask {
        yes,
        confirm: Box::new(move |prompt| out.ask(prompt)),
    }
}

/// Which audit logs recorded the run, and who confirmed a protected side.
fn render_gates(out: &Out, gates: &Approval, logs: &[&str]) {
    for (side, confirmation) in [
        ("source", &gates.source_confirmation),
        ("target", &gates.target_confirmation),
    ] {
        if let Some(how) = confirmation {
            out.line(&format!("  protected {side} confirmed: {how}"));
        }
    }
    if !logs.is_empty() {
        out.line(&format!(
            "  recorded in the audit log of: {}",
            logs.join(", ")
        ));
    }
}

fn preflight(args: PreflightArgs, out: &Out) -> dbsage_core::Result<i32> {
    let project = super::project()?;
    let (from, to) = resolve(&project, &args.pair)?;
    let checklist = dbsage_move::preflight::check(&project, &from, &to, args.method.method())?;
    let code = if checklist.blockers.is_empty() { 0 } else { 3 };
    if out.json_mode() {
        out.json(&serde_json::to_value(&checklist).expect("a preflight serialises"));
    } else {
        render_preflight(out, &checklist);
    }
    Ok(code)
}

fn render_preflight(out: &Out, p: &Preflight) {
    let ok = out.paint("ok", Style::Good);
    let bad = out.paint("NO", Style::Bad);
    let mark = |good: bool| if good { ok.clone() } else { bad.clone() };
    out.line(&format!(
        "Preflight: move `{}` → `{}` ({})",
        p.source.environment,
        p.target.environment,
        p.method.as_str()
    ));
    out.line(&format!(
        "  [{}] versions: source PostgreSQL {} ({}, {}), target PostgreSQL {} ({}, {})",
        mark(p.target.major >= p.source.major),
        p.source.version,
        p.source.database,
        human_bytes(p.source.bytes),
        p.target.version,
        p.target.database,
        human_bytes(p.target.bytes)
    ));
    let missing: Vec<&str> = p
        .extensions
        .iter()
        .filter(|e| !e.available_on_target)
        .map(|e| e.name.as_str())
        .collect();
    let names: Vec<String> = p
        .extensions
        .iter()
        .map(|e| format!("{} {}", e.name, e.version))
        .collect();
    out.line(&format!(
        "  [{}] extensions: {}{}",
        mark(missing.is_empty()),
        if names.is_empty() {
            "none".into()
        } else {
            names.join(", ")
        },
        if missing.is_empty() {
            String::new()
        } else {
            format!("; not available on the target: {}", missing.join(", "))
        }
    ));
    let absent: Vec<&str> = p
        .owner_roles
        .iter()
        .filter(|r| !r.on_target)
        .map(|r| r.name.as_str())
        .collect();
    let owners: Vec<&str> = p.owner_roles.iter().map(|r| r.name.as_str()).collect();
    out.line(&format!(
        "  [{}] roles owning objects: {}{}",
        mark(absent.is_empty()),
        owners.join(", "),
        if absent.is_empty() {
            String::new()
        } else {
            format!("; missing on the target: {}", absent.join(", "))
        }
    ));
    out.line(&format!(
        "  [{}] target database empty{}",
        mark(p.target_tables.is_empty()),
        if p.target_tables.is_empty() {
            String::new()
        } else {
            format!(": it has {}", p.target_tables.join(", "))
        }
    ));
    let in_tx = p
        .active_connections
        .iter()
        .filter(|s| s.transaction_seconds.is_some())
        .count();
    out.line(&format!(
        "  [--] sessions on the source: {} ({} in a transaction){}",
        p.active_connections.len(),
        in_tx,
        if p.method == Method::Dump && !p.active_connections.is_empty() {
            "; they are ended when the source goes read-only"
        } else {
            ""
        }
    ));
    out.line(&format!(
        "  [--] {} tables, {} sequences, {} large objects",
        p.tables,
        p.sequences.len(),
        p.large_objects
    ));
    let replicate = p.method == Method::Replicate;
    let identity = if replicate {
        mark(p.tables_without_identity.is_empty())
    } else {
        "--".into()
    };
    out.line(&format!(
        "  [{identity}] tables without a primary key or replica identity: {}",
        if p.tables_without_identity.is_empty() {
            "none".into()
        } else {
            p.tables_without_identity.join(", ")
        }
    ));
    let wal = if replicate {
        mark(p.wal_level == "logical")
    } else {
        "--".into()
    };
    out.line(&format!("  [{wal}] source wal_level: {}", p.wal_level));
    let privilege = if replicate {
        mark(p.replication_privilege)
    } else {
        "--".into()
    };
    out.line(&format!(
        "  [{privilege}] source role `{}` may replicate: {}",
        p.source.user,
        if p.replication_privilege { "yes" } else { "no" }
    ));
}

fn read_only_line(source: &str, d: &dbsage_move::read_only::Drained) -> String {
    let mut line = format!(
        "Source `{source}` is read-only (waited {:.1} s for in-flight transactions, {} sessions ended",
        d.waited_ms as f64 / 1000.0,
        d.terminated
    );
    if d.cut_transactions > 0 {
        line.push_str(&format!(
            ", {} transactions still open at the bound were rolled back",
            d.cut_transactions
        ));
    }
    line.push(')');
    line
}

fn render_comparison(out: &Out, c: &dbsage_move::compare::Comparison) {
    let checksummed = c.tables.iter().filter(|t| t.same_content.is_some()).count();
    out.line(&format!(
        "  compared: {} tables, {} rows (same on both sides), {} content checksums, {} sequences",
        c.tables.len(),
        c.rows,
        checksummed,
        c.sequences.len()
    ));
}

fn render_steps(out: &Out, steps: &[String]) {
    out.line("Cutover steps:");
    for (i, step) in steps.iter().enumerate() {
        out.line(&format!("  {}. {step}", i + 1));
    }
}

fn status(pair: Pair, out: &Out) -> dbsage_core::Result<i32> {
    let project = super::project()?;
    let state = dbsage_move::state::find(&project, pair.from.as_deref(), pair.to.as_deref())?;
    let status = dbsage_move::status(&project, &state)?;
    if out.json_mode() {
        out.json(&serde_json::to_value(&status).expect("a status serialises"));
        return Ok(0);
    }
    out.line(&format!(
        "Move `{}` → `{}` ({}), started {}",
        status.from, status.to, status.phase, status.started_at
    ));
    if let Some(at) = &status.cut_over_at {
        out.line(&format!("  cut over at {at}"));
        return Ok(0);
    }
    out.line(&format!(
        "  initial copy: {}/{} tables ready; lag {}{}",
        status.ready,
        status.tables.len(),
        status
            .lag_bytes
            .map_or("unknown (no slot)".to_string(), human_bytes),
        if status.subscription_enabled == Some(false) {
            "; the subscription is DISABLED"
        } else {
            ""
        }
    ));
    for t in &status.tables {
        out.line(&format!("    {:<14} {}", t.state, t.table));
    }
    if status.ready == status.tables.len() {
        out.line(&format!(
            "  ready: `dbsage move cutover --from {} --to {}`",
            status.from, status.to
        ));
    }
    Ok(0)
}

fn cutover(args: CutoverArgs, out: &Out) -> dbsage_core::Result<i32> {
    let project = super::project()?;
    let state =
        dbsage_move::state::find(&project, args.pair.from.as_deref(), args.pair.to.as_deref())?;
    let options = CutoverOptions {
        drain: args.drain,
        wait: args.wait,
    };
    let report = dbsage_move::cutover(
        &project,
        &state,
        &options,
        &Steps(out),
        &mut ask(out, args.yes),
    )?;
    if out.json_mode() {
        out.json(&serde_json::to_value(&report).expect("a report serialises"));
        return Ok(0);
    }
    out.line(&read_only_line(&report.from, &report.read_only));
    out.line(&format!(
        "Cut over `{}` → `{}` in {:.1} s (caught up to {} in {:.1} s, {} sequences copied, subscription dropped)",
        report.from,
        report.to,
        report.total_ms as f64 / 1000.0,
        report.final_lsn,
        report.catch_up_ms as f64 / 1000.0,
        report.sequences_copied
    ));
    render_comparison(out, &report.comparison);
    render_gates(out, &report.gates, &report.audit_logs);
    render_steps(out, &report.cutover_steps);
    Ok(0)
}

fn abort(args: AbortArgs, out: &Out) -> dbsage_core::Result<i32> {
    let project = super::project()?;
    let pair = &args.pair;
    let state = dbsage_move::state::find(&project, pair.from.as_deref(), pair.to.as_deref())?;
    let report = dbsage_move::replicate::abort(&project, &state, &mut ask(out, args.yes))?;
    if out.json_mode() {
        out.json(&serde_json::to_value(&report).expect("a report serialises"));
        return Ok(0);
    }
    out.line(&format!(
        "Aborted the move `{}` → `{}`: subscription, slot and publication dropped; the source is as it was",
        report.from, report.to
    ));
    out.line(&format!(
        "  the target database {} keeps what was copied: drop and recreate it before moving again",
        report.target_database
    ));
    render_gates(out, &report.gates, &report.audit_logs);
    Ok(0)
}

fn human_bytes(bytes: i64) -> String {
    super::backup::human_bytes(bytes.max(0) as u64)
}
