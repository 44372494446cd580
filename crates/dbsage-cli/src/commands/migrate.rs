use std::cell::RefCell;

use clap::Args;
use serde_json::json;

use dbsage_core::env::Target;
use dbsage_core::gates::{self, GateOptions};
use dbsage_core::local::{self, CheckStatus, LocalProgress};
use dbsage_core::migrate::{self, AppliedMigration, Progress, RunOptions};
use dbsage_core::protection;

use crate::output::{error_json, Out, Style};

#[derive(Args, Debug)]
pub struct MigrateArgs {
    /// Test every migration on a throwaway local PostgreSQL (idempotency and rollback checks),
    /// then tear it down. Required before a protected environment accepts the migration set.
    #[arg(long, conflicts_with_all = ["env", "to", "dry_run", "yes", "skip_local_check", "parallel", "fail_fast", "canary"])]
    pub local: bool,
    /// Environment: a name from dbsage.toml, `dev` (default), or DATABASE_URL.
    #[arg(long, short)]
    pub env: Option<String>,
    /// Show what would run; run nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// With --dry-run: print the SQL of each pending file, in the order it would run.
    #[arg(long, requires = "dry_run")]
    pub sql: bool,
    /// Stop after this version.
    #[arg(long, value_name = "VERSION")]
    pub to: Option<String>,
    /// Apply pending migrations older than the newest applied one.
    #[arg(long)]
    pub allow_out_of_order: bool,
    /// Do not ask for confirmation on a protected environment (for scripts and CI).
    #[arg(long, short)]
    pub yes: bool,
    /// Apply to a protected environment without a local pass (recorded in the audit log).
    #[arg(long)]
    pub skip_local_check: bool,
    /// Go on despite lint errors (recorded in the audit log of a protected environment).
    #[arg(long)]
    pub skip_lint: bool,
    /// Why a gate is overridden (--skip-lint, --skip-local-check): recorded with the override
    /// in the audit log.
    #[arg(long, value_name = "TEXT")]
    pub reason: Option<String>,
    #[command(flatten)]
    pub fleet: super::fleet::FleetArgs,
}

pub fn run(args: MigrateArgs, out: &Out) -> dbsage_core::Result<i32> {
    let (project, files) = super::project_and_files()?;
    if args.local {
        return run_local(
            &project,
            &files,
            &local::LocalOptions {
                skip_lint: args.skip_lint,
            },
            out,
        );
    }
    if let Some(fleet) = dbsage_core::fleet::resolve(&project, args.env.as_deref())? {
        return super::fleet_migrate::run(&args, &project, &files, &fleet, out);
    }
    let target = Target::resolve(&project, args.env.as_deref())?;
    args.fleet.refuse_on_single(&target.name)?;
    super::announce(out, &target);
    // Connect first: the database itself says whether it is protected.
    let (mut client, protection) = target.connect_protected(&project, "dbsage migrate")?;
    let mut audit = Vec::new();
    let mut lint_skipped = Vec::new();
    if !args.dry_run {
        super::learn_lint_skipped::learn(&mut client, &project, &target, out);
    }
    // Not on a dry run: it changes nothing, and must stay cheap on a huge file.
    if protection.is_none() && !target.is_dev() && !args.dry_run && !out.json_mode() {
        super::pending_lint::show(&mut client, &project, &files, &target.name, out)?;
    }
    if let Some(protection) = &protection {
        if args.dry_run {
            out.status(
                "Note",
                &format!("{}; a dry run asks for nothing", protection.describe()),
            );
        } else {
            let planned = migrate::run(
                &mut client,
                &project,
                &files,
                &mut RunOptions {
                    dry_run: true,
                    to: args.to.clone(),
                    allow_out_of_order: args.allow_out_of_order,
                    ..Default::default()
                },
                &mut |_| {},
            )?
            .planned;
            let gate = gates::check(
                &project,
                &target,
                protection,
                &files,
                &planned,
                &GateOptions {
                    yes: args.yes,
                    skip_local_check: args.skip_local_check,
                    skip_lint: args.skip_lint,
                },
                "migrate",
                &mut |prompt| out.ask(prompt),
            )?;
            for (_, reason) in &gate.overrides {
                out.warn(reason);
            }
            protection::mark(&mut client, &project, &target)?;
            audit = super::override_reason::with_override_reason(
                gate.audit_events(),
                &gate.overrides,
                args.reason.as_deref(),
            );
            lint_skipped = gate.lint_skipped;
        }
    }
    let applied: RefCell<Vec<AppliedMigration>> = RefCell::new(Vec::new());
    // The files go into the `lint_skipped` event, so any checkout can read the override back.
    let lint_skipped_files: Vec<&dbsage_core::migrations::MigrationFile> = files
        .iter()
        .filter(|f| lint_skipped.contains(&f.version))
        .collect();
    let lint_skipped_reason = audit
        .iter()
        .find(|(event, _)| event == "lint_skipped")
        .map(|(_, reason)| reason.clone())
        .unwrap_or_default();
    let mut options = RunOptions {
        dry_run: args.dry_run,
        to: args.to.clone(),
        allow_out_of_order: args.allow_out_of_order,
        audit,
        ..Default::default()
    };
    if !lint_skipped_files.is_empty() {
        options.audit_details.insert(
            "lint_skipped".into(),
            dbsage_core::lint_skipped::event_details(&project, &lint_skipped_files),
        );
    }
    let result = migrate::run(
        &mut client,
        &project,
        &files,
        &mut options,
        &mut |p| match p {
            Progress::WaitingForLock(h) => out.status(
                "Waiting",
                &format!(
                    "for another migration run: pid {} (application_name '{}', user '{}')",
                    h.pid, h.application_name, h.user
                ),
            ),
            Progress::Applying(f) => {
                warn_if_empty(out, f);
                out.status("Applying", &f.label())
            }
            Progress::Applied(a) => {
                out.status(
                    "Applied",
                    &format!("{}_{} in {} ms", a.version, a.name, a.duration_ms),
                );
                applied.borrow_mut().push(a.clone());
            }
        },
    );
    let applied = applied.into_inner();
    // Files applied despite lint errors: `migrate --local` shows their findings as context, in
    // every checkout that has the committed record.
    let skipped_applied: Vec<&dbsage_core::migrations::MigrationFile> = lint_skipped_files
        .into_iter()
        .filter(|f| applied.iter().any(|a| a.version == f.version))
        .collect();
    if !skipped_applied.is_empty() {
        match dbsage_core::baseline::record_lint_skipped(
            &project,
            &skipped_applied,
            &target.name,
            &lint_skipped_reason,
        ) {
            Ok(()) => {
                out.status(
                    "Recorded",
                    &format!(
                    "{} in {}: commit it, so every checkout judges {} as applied with --skip-lint",
                    dbsage_core::wording::plural(skipped_applied.len(), "file"),
                    dbsage_core::lint_skipped::FILE_NAME,
                    if skipped_applied.len() == 1 { "it" } else { "them" }
                ),
                )
            }
            Err(e) => out.warn(&e.to_string()),
        }
    }
    let result = result.map_err(|e| suggest_dev_reset(e, &target));
    match result {
        Ok(outcome) => {
            if out.json_mode() {
                let mut value = json!({
                    "environment": target.name,
                    "applied": applied,
                    "passed": true,
                    "checks": {},
                    "protected_as": protection.as_ref().map(|p| &p.name),
                });
                if args.dry_run {
                    value["dry_run"] = json!(true);
                    value["planned"] = json!(outcome.planned);
                    if args.sql {
                        value["sql"] = json!(outcome
                            .planned
                            .iter()
                            .filter_map(|p| files.iter().find(|f| f.version == p.version))
                            .map(|f| json!({
                                "version": f.version,
                                "file": super::display_path(&f.path),
                                "sql": f.text,
                            }))
                            .collect::<Vec<_>>());
                    }
                }
                out.json(&value);
            } else if args.dry_run && args.sql {
                out_text!("{}", super::dry_run_sql::script(&outcome.planned, &files));
            } else if args.dry_run {
                if outcome.planned.is_empty() {
                    out.line(&format!("{}: up to date, nothing would run", target.name));
                } else {
                    out.line(&format!(
                        "would apply to {} ({}):",
                        target.name, target.display
                    ));
                    for p in &outcome.planned {
                        if let Some(f) = files.iter().find(|f| f.version == p.version) {
                            warn_if_empty(out, f);
                        }
                        let mode = if p.no_transaction {
                            ", no transaction"
                        } else {
                            ""
                        };
                        out.line(&format!(
                            "  {}_{} ({}{mode})",
                            p.version,
                            p.name,
                            super::dry_run_sql::statements(p.statements)
                        ));
                    }
                    out.line("dry run: nothing was applied");
                }
            } else if applied.is_empty() {
                out.line(&format!("{}: up to date", target.name));
            } else {
                out.line(&format!(
                    "{} {} to {}",
                    out.paint("applied", Style::Good),
                    dbsage_core::wording::plural(applied.len(), "migration"),
                    target.name
                ));
            }
            Ok(0)
        }
        Err(e) => {
            if out.json_mode() {
                out.json(&json!({
                    "environment": target.name,
                    "applied": applied,
                    "passed": false,
                    "checks": {},
                    "error": error_json(&e),
                }));
                Ok(e.exit_code())
            } else {
                if !applied.is_empty() {
                    out.line(&format!(
                        "{} applied before the failure (they stay applied)",
                        dbsage_core::wording::plural(applied.len(), "migration")
                    ));
                }
                Err(e)
            }
        }
    }
}

/// A file with no statement is recorded as applied and does nothing: almost always a
/// migration someone created and forgot to write.
fn warn_if_empty(out: &Out, file: &dbsage_core::migrations::MigrationFile) {
    let text = file.text.as_str();
    let mut pos = 0;
    loop {
        pos = dbsage_sql::skip_trivia(text, pos);
        if text[pos..].starts_with(';') {
            pos += 1;
        } else {
            break;
        }
    }
    if pos >= text.len() {
        out.warn(&format!(
            "{} is empty: it would be recorded as applied without changing anything; write its SQL, or delete it",
            super::display_path(&file.path)
        ));
    }
}

/// The dev database holds nothing worth keeping: when its history disagrees with the files,
/// rebuilding it is the first thing to try, before repairing anything.
fn suggest_dev_reset(e: dbsage_core::Error, target: &Target) -> dbsage_core::Error {
    match e {
        dbsage_core::Error::Inconsistent { message, hint } if target.is_dev() => {
            dbsage_core::Error::Inconsistent {
                message,
                hint: format!(
                    "this is the dev database: `dbsage dev reset` rebuilds it from the migrations (its data is lost); otherwise: {hint}"
                ),
            }
        }
        other => other,
    }
}

fn run_local(
    project: &dbsage_core::config::Project,
    files: &[dbsage_core::migrations::MigrationFile],
    options: &local::LocalOptions,
    out: &Out,
) -> dbsage_core::Result<i32> {
    let target = dbsage_core::pg_version::resolve(project);
    let differing = target
        .as_ref()
        .map(|t| dbsage_core::pg_version::differing(project, t.major))
        .unwrap_or_default();
    if let Ok(target) = &target {
        super::pg_version::warn_differing(out, &differing, target);
    }
    let mut installed = None;
    let result = local::run_local(project, files, options, &mut |p| match p {
        LocalProgress::ClusterStarted { millis, version } => {
            installed = Some(version.to_string());
            let from = match &target {
                Ok(t) => format!(" (version from {})", t.source),
                Err(_) => String::new(),
            };
            out.status(
                "Started",
                &format!("throwaway PostgreSQL {version} in {millis} ms{from}"),
            )
        }
        LocalProgress::Migrate(Progress::Applied(a)) => out.status(
            "Applied",
            &format!("{}_{} in {} ms", a.version, a.name, a.duration_ms),
        ),
        LocalProgress::Migrate(Progress::Applying(f)) => warn_if_empty(out, f),
        LocalProgress::Migrate(_) => {}
        LocalProgress::Check(name) if name != "apply" && name != "lint" => {
            out.status("Checking", name)
        }
        LocalProgress::Check(_) => {}
    });
    let report = match result {
        Ok(r) => r,
        Err(e) => {
            if out.json_mode() {
                let mut value = json!({ "environment": "local", "applied": [], "passed": false, "checks": {}, "error": error_json(&e) });
                if let Ok(t) = &target {
                    value["local_pg_version"] = super::pg_version::json(t, installed.as_deref());
                }
                out.json(&value);
                return Ok(e.exit_code());
            }
            return Err(e);
        }
    };
    if out.json_mode() {
        let mut value = serde_json::to_value(&report).unwrap();
        if let Ok(t) = &target {
            value["local_pg_version"] = super::pg_version::json(t, installed.as_deref());
            value["environments_differing"] = super::pg_version::differing_json(&differing);
        }
        out.json(&value);
    } else {
        if let Some(seed) = &report.seed {
            out.status("Seeded", &super::display_path(std::path::Path::new(seed)));
        }
        if !report.lint.is_empty() {
            // The texts are in memory already: the findings point into these files.
            let sources: Vec<dbsage_lint::SourceFile> = files
                .iter()
                .filter(|f| report.lint.iter().any(|l| l.file == f.path))
                .map(|f| dbsage_lint::SourceFile {
                    path: f.path.clone(),
                    text: f.text.clone(),
                })
                .collect();
            err_text!(
                "{}",
                dbsage_lint::render_human(&report.lint, &sources, out.color_err())
            );
        }
        render_lint_context(&report.lint_context, files, out);
        for (name, check) in &report.checks {
            let label = match check.status {
                CheckStatus::Passed => out.paint("passed", Style::Good),
                CheckStatus::Failed => out.paint("FAILED", Style::Bad),
                CheckStatus::Warned => out.paint("warnings", Style::Warn),
                CheckStatus::Skipped => out.paint("skipped", Style::Dim),
                CheckStatus::Off => out.paint("off", Style::Dim),
            };
            let note = check
                .note
                .as_deref()
                .map(|n| format!(" ({n})"))
                .unwrap_or_default();
            out.line(&format!("{name} check: {label}{note}"));
            if *name == "lint" {
                let errors = check
                    .findings
                    .iter()
                    .filter(|f| f.message.ends_with("(error)"))
                    .count();
                if !check.findings.is_empty() {
                    out.line(&format!(
                        "  {}, {}; shown above",
                        dbsage_core::wording::plural(check.findings.len(), "finding"),
                        dbsage_core::wording::plural(errors, "error")
                    ));
                }
                continue;
            }
            for f in &check.findings {
                let place = match (&f.file, f.line, f.column) {
                    (Some(file), Some(l), Some(c)) => format!(
                        "{}:{l}:{c}: ",
                        super::display_path(std::path::Path::new(file))
                    ),
                    (Some(file), _, _) => {
                        format!("{}: ", super::display_path(std::path::Path::new(file)))
                    }
                    _ => String::new(),
                };
                out.line(&format!(
                    "  - {place}{}_{}: {}",
                    f.version, f.name, f.message
                ));
                for o in &f.objects {
                    out.line(&format!("      {o}"));
                }
            }
            for c in &check.context {
                out.line(&format!(
                    "  context, not failing: {}_{} ({}): {}",
                    c.version,
                    c.name,
                    c.context.as_deref().unwrap_or_default(),
                    c.message
                ));
            }
        }
        let verdict = if report.passed {
            out.paint("passed", Style::Good)
        } else {
            out.paint("FAILED", Style::Bad)
        };
        out.line(&format!(
            "local: {} applied on a throwaway database, {verdict} in {} ms; the cluster is gone",
            dbsage_core::wording::plural(report.applied.len(), "migration"),
            report.duration_ms
        ));
    }
    Ok(if report.passed { 0 } else { 1 })
}

/// Lint findings in files that cannot fail the run, on stderr (stdout is the report).
fn render_lint_context(
    context: &[(dbsage_lint::Finding, String)],
    files: &[dbsage_core::migrations::MigrationFile],
    out: &Out,
) {
    let sources: Vec<dbsage_lint::SourceFile> = files
        .iter()
        .filter(|f| context.iter().any(|(l, _)| l.file == f.path))
        .map(|f| dbsage_lint::SourceFile {
            path: f.path.clone(),
            text: f.text.clone(),
        })
        .collect();
    err_text!(
        "{}",
        super::lint_context::render(context, &sources, out.color_err())
    );
}
