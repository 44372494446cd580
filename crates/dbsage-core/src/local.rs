//! `dbsage migrate --local`: replay every migration on a fresh throwaway cluster, run the checks
//! (idempotency, rollback), record a pass stamp, and always tear the cluster down.

use std::collections::BTreeMap;
use std::time::Instant;

use dbsage_catalog::{Catalog, ReadOptions};
use postgres::Client;
use serde::{Deserialize, Serialize};

use crate::baseline::{self, IdempotencyScope};
use crate::config::{CheckLevel, Project};
use crate::error::{Error, MigrationError, Result};
use crate::migrate::{self, AppliedMigration, Progress, RunOptions, Timeouts};
use crate::migrations::{set_hash, MigrationFile};
use crate::rollback::undo_with_down_file;

#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum CheckStatus {
    Passed,
    Failed,
    /// Findings at level `warn`: reported, not failing.
    Warned,
    Skipped,
    Off,
}

#[derive(Debug, Clone, Serialize)]
pub struct CheckReport {
    pub status: CheckStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    pub findings: Vec<CheckFinding>,
    /// Shown, never failing: findings in files at or before the baseline or applied with an
    /// audited --skip-lint, and files opted out with `-- dbsage:not-idempotent`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub context: Vec<CheckFinding>,
}

#[derive(Debug, Clone, Serialize)]
pub struct CheckFinding {
    /// The lint rule, for lint findings.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
    pub version: String,
    pub name: String,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sqlstate: Option<String>,
    /// For the rollback check: the objects that differ.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub objects: Vec<String>,
    /// For a context entry: why it does not count.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub context: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct LocalReport {
    pub environment: &'static str,
    pub applied: Vec<AppliedMigration>,
    pub seed: Option<String>,
    pub passed: bool,
    pub checks: BTreeMap<&'static str, CheckReport>,
    pub migration_set: String,
    pub duration_ms: u64,
    /// The lint findings themselves, for rendering.
    #[serde(skip)]
    pub lint: Vec<dbsage_lint::Finding>,
    /// Lint findings shown as context, with why they do not count.
    #[serde(skip)]
    pub lint_context: Vec<(dbsage_lint::Finding, String)>,
}

impl CheckReport {
    fn from_findings(level: CheckLevel, findings: Vec<CheckFinding>) -> CheckReport {
        let status = match (level, findings.is_empty()) {
            (CheckLevel::Off, _) => CheckStatus::Off,
            (_, true) => CheckStatus::Passed,
            (CheckLevel::Error, false) => CheckStatus::Failed,
            (CheckLevel::Warn, false) => CheckStatus::Warned,
        };
        CheckReport {
            status,
            note: None,
            findings,
            context: Vec::new(),
        }
    }
    fn skipped(note: impl Into<String>) -> CheckReport {
        CheckReport {
            status: CheckStatus::Skipped,
            note: Some(note.into()),
            findings: Vec::new(),
            context: Vec::new(),
        }
    }
}

/// What `migrate --local` reports as it goes.
pub enum LocalProgress<'a> {
    ClusterStarted { millis: u64, version: &'a str },
    Migrate(Progress<'a>),
    Check(&'static str),
}

#[derive(Debug, Clone, Default)]
pub struct LocalOptions {
    /// Replay even when the linter finds errors (the findings are still reported).
    pub skip_lint: bool,
}

/// Runs the linter, the local replay and the checks. A migration that fails to apply is an
/// `Err` (with its location); check findings are in the report. Lint errors stop before the
/// replay unless `skip_lint`.
pub fn run_local(
    project: &Project,
    files: &[MigrationFile],
    options: &LocalOptions,
    progress: &mut dyn FnMut(LocalProgress),
) -> Result<LocalReport> {
    let started = Instant::now();
    // A missing server version is the first thing to fix: say so before judging the files.
    crate::pg_version::install(&crate::pg_version::resolve(project)?)?;
    progress(LocalProgress::Check("lint"));
    let skipped_before = baseline::lint_skipped(project)?;
    let (lint_findings, lint_context) =
        baseline::split_lint_findings(files, crate::lint::lint_migrations(project, files)?, &|f| {
            baseline::lint_context_reason(project, f, &skipped_before)
        });
    let lint_failed = dbsage_lint::has_errors(&lint_findings);
    let lint_report = lint_check(files, &lint_findings, &lint_context, options.skip_lint);
    if lint_failed && !options.skip_lint {
        let mut checks = BTreeMap::new();
        checks.insert("lint", lint_report);
        return Ok(LocalReport {
            environment: "local",
            applied: Vec::new(),
            seed: None,
            passed: false,
            checks,
            migration_set: set_hash(files),
            duration_ms: started.elapsed().as_millis() as u64,
            lint: lint_findings,
            lint_context,
        });
    }
    let fixtures = crate::fixtures::from_project(project, files)?;
    let folder_fixtures = crate::folder_fixtures::schedule(
        &crate::folder_fixtures::discover(&project.migrations_dir())?,
        files,
    );
    let cluster = crate::server_settings::start_throwaway(project, files)?;
    progress(LocalProgress::ClusterStarted {
        millis: started.elapsed().as_millis() as u64,
        version: &cluster.install().version,
    });
    let mut client = cluster.connect("postgres")?;
    if project.is_supabase() {
        progress(LocalProgress::Check("supabase compatibility layer"));
        crate::supabase_layer::install(&mut client, project)?;
    }
    let checks = &project.config.checks;
    let exclude = ReadOptions {
        exclude_schemas: vec![project.history_table().schema],
    };

    // Which schemas the rollback check needs: the newest run of migrations that all have down
    // files can be undone one by one; S[k] is the schema before migration k of that run.
    let first_undoable = files
        .iter()
        .rposition(|f| f.down.is_none())
        .map_or(0, |i| i + 1);
    let rollback_wanted = checks.rollback != CheckLevel::Off && first_undoable < files.len();
    let mut snapshots: BTreeMap<usize, Catalog> = BTreeMap::new();
    if rollback_wanted && first_undoable == 0 {
        snapshots.insert(0, read_catalog(&mut client, &exclude)?);
    }

    let scopes: Vec<IdempotencyScope> = files
        .iter()
        .map(|f| baseline::idempotency_scope(project, f))
        .collect();
    progress(LocalProgress::Check("apply"));
    let applied;
    let idempotency_failures;
    {
        let snapshots_ref = &mut snapshots;
        let exclude_ref = &exclude;
        let mut index = 0usize;
        let fixtures_ref = &fixtures;
        let folder_after = &folder_fixtures.after;
        crate::fixtures::apply_files(&mut client, &folder_fixtures.before)?;
        let after_each = move |c: &mut Client, f: &MigrationFile| -> Result<()> {
            index += 1;
            if let Some(fx) = fixtures_ref.as_ref().filter(|fx| fx.after == f.version) {
                crate::fixtures::apply(c, fx)?;
            }
            if let Some(paths) = folder_after.get(&f.version) {
                crate::fixtures::apply_files(c, paths)?;
            }
            if rollback_wanted && index >= first_undoable {
                snapshots_ref.insert(index, read_catalog(c, exclude_ref)?);
            }
            Ok(())
        };
        let mut options = RunOptions {
            idempotency_check: checks.idempotency != CheckLevel::Off,
            idempotency_exempt: files
                .iter()
                .zip(&scopes)
                .filter(|(_, scope)| **scope != IdempotencyScope::Checked)
                .map(|(f, _)| f.version.clone())
                .collect(),
            after_each: Some(Box::new(after_each)),
            allow_out_of_order: true,
            ..Default::default()
        };
        let outcome = migrate::run(&mut client, project, files, &mut options, &mut |p| {
            progress(LocalProgress::Migrate(p))
        })?;
        applied = outcome.applied;
        idempotency_failures = outcome.idempotency_failures;
    }

    let seed = apply_seed(&mut client, project)?;

    let mut reports = BTreeMap::new();
    reports.insert("lint", lint_report);
    let idempotency_findings = idempotency_failures
        .iter()
        .map(|e| idempotency_finding(files, e))
        .collect();
    let mut idempotency = idempotency_report(
        project,
        files,
        &scopes,
        checks.idempotency,
        idempotency_findings,
    );
    if let Some(own) = own_transactions_note(files, &applied) {
        idempotency.note = Some(match idempotency.note.take() {
            Some(note) => format!("{note}; {own}"),
            None => own,
        });
    }
    reports.insert("idempotency", idempotency);

    let rollback_report = if checks.rollback == CheckLevel::Off {
        CheckReport::from_findings(CheckLevel::Off, Vec::new())
    } else if !files.iter().any(|f| f.down.is_some()) {
        CheckReport::skipped("no down files")
    } else if !rollback_wanted {
        CheckReport::skipped(format!(
            "the newest migration ({}) has no down file, so nothing can be undone from the top",
            files.last().map(|f| f.label()).unwrap_or_default()
        ))
    } else {
        progress(LocalProgress::Check("rollback"));
        let findings = rollback_check(
            &mut client,
            project,
            files,
            first_undoable,
            &snapshots,
            &exclude,
        )?;
        CheckReport::from_findings(checks.rollback, findings)
    };
    reports.insert("rollback", rollback_report);
    // Last, so its extension is never in a schema the rollback check compares.
    if checks.plpgsql != CheckLevel::Off {
        progress(LocalProgress::Check("plpgsql"));
    }
    let plpgsql = crate::plpgsql_check::run(&mut client, files, checks.plpgsql)?;
    reports.insert("plpgsql", plpgsql);

    // Lint errors fail the run unless overridden; a protected environment lints again and
    // needs its own, audited, --skip-lint.
    let passed = (!lint_failed || options.skip_lint)
        && reports
            .iter()
            .all(|(name, r)| *name == "lint" || r.status != CheckStatus::Failed);
    let migration_set = set_hash(files);
    if passed {
        record_pass(project, &migration_set)?;
    }
    drop(client);
    cluster.stop();
    Ok(LocalReport {
        environment: "local",
        applied,
        seed,
        passed,
        checks: reports,
        migration_set,
        duration_ms: started.elapsed().as_millis() as u64,
        lint: lint_findings,
        lint_context,
    })
}

fn lint_check(
    files: &[MigrationFile],
    findings: &[dbsage_lint::Finding],
    context: &[(dbsage_lint::Finding, String)],
    skipped: bool,
) -> CheckReport {
    let convert = |f: &dbsage_lint::Finding, why: Option<&String>| {
        let file = files.iter().find(|m| m.path == f.file);
        CheckFinding {
            rule: Some(f.rule.clone()),
            version: file.map(|m| m.version.clone()).unwrap_or_default(),
            name: file.map(|m| m.name.clone()).unwrap_or_default(),
            message: format!("{} ({})", f.message, f.severity.as_str()),
            file: Some(f.file.display().to_string()),
            line: Some(f.line),
            column: Some(f.column),
            sqlstate: None,
            objects: Vec::new(),
            context: why.cloned(),
        }
    };
    let converted = findings.iter().map(|f| convert(f, None)).collect();
    let status = if dbsage_lint::has_errors(findings) {
        CheckStatus::Failed
    } else if findings.is_empty() {
        CheckStatus::Passed
    } else {
        CheckStatus::Warned
    };
    CheckReport {
        status,
        note: skipped.then(|| "--skip-lint: replayed despite lint errors".to_string()),
        findings: converted,
        context: context
            .iter()
            .map(|(f, why)| convert(f, Some(why)))
            .collect(),
    }
}

/// The idempotency check's report: the re-run failures, a finding for each opt-out without a
/// reason, the opt-outs as context, and a note on the files left to the baseline.
fn idempotency_report(
    project: &Project,
    files: &[MigrationFile],
    scopes: &[IdempotencyScope],
    level: CheckLevel,
    mut findings: Vec<CheckFinding>,
) -> CheckReport {
    let entry = |f: &MigrationFile, message: String, line: Option<usize>| CheckFinding {
        rule: None,
        version: f.version.clone(),
        name: f.name.clone(),
        message,
        file: Some(f.path.display().to_string()),
        line,
        column: line.map(|_| 1),
        sqlstate: None,
        objects: Vec::new(),
        context: None,
    };
    let mut context = Vec::new();
    let mut before_baseline = 0;
    for (f, scope) in files.iter().zip(scopes) {
        match scope {
            IdempotencyScope::Checked => {}
            IdempotencyScope::Baseline => before_baseline += 1,
            IdempotencyScope::OptedOut { reason } => {
                let mut e = entry(f, format!("not re-run: {reason}"), None);
                e.context = Some(format!("-- dbsage:{}", baseline::NOT_IDEMPOTENT));
                context.push(e);
            }
            IdempotencyScope::ReasonMissing { line, column } => {
                let mut e = entry(
                    f,
                    format!(
                        "`-- dbsage:{}` gives no reason: say why this file cannot run twice (e.g. `-- dbsage:{} one-off backfill of plan prices`); the file was not re-run",
                        baseline::NOT_IDEMPOTENT,
                        baseline::NOT_IDEMPOTENT
                    ),
                    Some(*line),
                );
                e.column = Some(*column);
                findings.push(e);
            }
        }
    }
    let mut report = CheckReport::from_findings(level, findings);
    if level != CheckLevel::Off {
        report.context = context;
        if before_baseline > 0 {
            report.note = Some(format!(
                "{} at or before the baseline {} replayed once, not re-run: another tool applied them",
                crate::wording::plural(before_baseline, "file"),
                project.config.project.baseline.as_deref().unwrap_or_default()
            ));
        }
    }
    report
}

fn read_catalog(client: &mut Client, options: &ReadOptions) -> Result<Catalog> {
    Catalog::read(client, options).map_err(|e| Error::db("reading the schema", e))
}

fn idempotency_finding(files: &[MigrationFile], e: &MigrationError) -> CheckFinding {
    let file = files.iter().find(|f| f.path == e.file);
    CheckFinding {
        version: file.map(|f| f.version.clone()).unwrap_or_default(),
        name: file.map(|f| f.name.clone()).unwrap_or_default(),
        message: format!(
            "fails when applied a second time: {} [SQLSTATE {}]{}",
            e.message,
            e.sqlstate,
            crate::rerun_hint::rerun_hint(&e.source_text[e.statement.clone()], &e.sqlstate)
                .or(e.dbsage_hint.as_deref())
                .map(|h| format!("; {h}"))
                .unwrap_or_default()
        ),
        rule: None,
        file: Some(e.file.display().to_string()),
        line: Some(e.line),
        column: Some(e.column),
        sqlstate: Some(e.sqlstate.clone()),
        objects: Vec::new(),
        context: None,
    }
}

/// Undo from the newest migration down to `first`, comparing each step with the schema recorded
/// on the way up, then re-apply and compare with the final schema.
fn rollback_check(
    client: &mut Client,
    project: &Project,
    files: &[MigrationFile],
    first: usize,
    snapshots: &BTreeMap<usize, Catalog>,
    exclude: &ReadOptions,
) -> Result<Vec<CheckFinding>> {
    let table = project.history_table();
    let timeouts = Timeouts::from_project(project);
    let mut findings = Vec::new();
    let finding = |f: &MigrationFile, message: String, objects: Vec<String>| CheckFinding {
        rule: None,
        version: f.version.clone(),
        name: f.name.clone(),
        message,
        file: f.down.as_ref().map(|d| d.path.display().to_string()),
        line: None,
        column: None,
        sqlstate: None,
        objects,
        context: None,
    };
    for k in (first..files.len()).rev() {
        let file = &files[k];
        if let Err(e) = undo_with_down_file(
            client,
            &table,
            &timeouts,
            file,
            crate::rollback::kept_in_step_tool(project),
        ) {
            let (message, line, column) = match &e {
                Error::Migration(m) => (
                    format!(
                        "the down file fails: {} [SQLSTATE {}]",
                        m.message, m.sqlstate
                    ),
                    Some(m.line),
                    Some(m.column),
                ),
                other => (format!("the down file fails: {other}"), None, None),
            };
            let mut f = finding(file, message, Vec::new());
            f.line = line;
            f.column = column;
            findings.push(f);
            return Ok(findings);
        }
        let now = read_catalog(client, exclude)?;
        let differences = dbsage_catalog::diff(&snapshots[&k], &now);
        if !differences.is_empty() {
            findings.push(finding(
                file,
                format!(
                    "after the down file, the schema differs from the schema before {}",
                    file.label()
                ),
                differences.iter().map(|d| d.to_string()).collect(),
            ));
        }
    }
    // Re-apply what was undone: down + up must give the schema back.
    let mut options = RunOptions::default();
    if let Err(e) = migrate::run(client, project, files, &mut options, &mut |_| {}) {
        let f = &files[first];
        findings.push(finding(
            f,
            format!("re-applying after the rollback fails: {e}"),
            Vec::new(),
        ));
        return Ok(findings);
    }
    let now = read_catalog(client, exclude)?;
    let differences = dbsage_catalog::diff(&snapshots[&files.len()], &now);
    if !differences.is_empty() {
        findings.push(finding(
            &files[files.len() - 1],
            "after rolling back and re-applying, the schema differs from the first run".into(),
            differences.iter().map(|d| d.to_string()).collect(),
        ));
    }
    Ok(findings)
}

/// Applies `seed.sql` (or the configured seed) in one transaction, when it exists.
pub fn apply_seed(client: &mut Client, project: &Project) -> Result<Option<String>> {
    let path = project.seed_path();
    if !path.is_file() {
        return Ok(None);
    }
    let text = std::fs::read_to_string(&path)
        .map_err(|e| Error::io(format!("reading {}", path.display()), e))?;
    let parsed = migrate::parse_migration(&path, &text)?;
    let mut tx = client
        .transaction()
        .map_err(|e| Error::db("starting a transaction", e))?;
    migrate::run_statements(&mut tx, &path, &text, &parsed).map_err(Error::Migration)?;
    tx.commit()
        .map_err(|e| Error::db("committing the seed", e))?;
    Ok(Some(path.display().to_string()))
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct PassFile {
    passed: Vec<PassStamp>,
}

#[derive(Debug, Serialize, Deserialize)]
struct PassStamp {
    migration_set: String,
    at: String,
}

const PASS_FILE: &str = "local-pass.json";

fn pass_file(project: &Project) -> std::path::PathBuf {
    project.state_dir().join(PASS_FILE)
}

fn record_pass(project: &Project, migration_set: &str) -> Result<()> {
    let path = pass_file(project);
    let mut file: PassFile = std::fs::read_to_string(&path)
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or_default();
    file.passed.retain(|p| p.migration_set != migration_set);
    file.passed.push(PassStamp {
        migration_set: migration_set.to_string(),
        at: time::OffsetDateTime::now_utc()
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default(),
    });
    let excess = file.passed.len().saturating_sub(50);
    file.passed.drain(..excess);
    project.write_state_file(PASS_FILE, &serde_json::to_string_pretty(&file).unwrap())
}

/// True when this exact migration set has passed `migrate --local` in this checkout.
pub fn has_passed_locally(project: &Project, files: &[MigrationFile]) -> bool {
    local_pass(project, files).is_some()
}

/// The stamp a gate relies on: which migration set passed `migrate --local`, and when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalPass {
    /// sha256 over every migration's version and checksum, in order.
    pub migration_set: String,
    /// When `migrate --local` recorded it (RFC 3339, UTC).
    pub at: String,
}

/// The pass stamp of this exact migration set, when it has passed `migrate --local` in this
/// checkout. It is a file under `.dbsage/` that a user can edit: gates record which stamp they
/// relied on, so the audit log shows it.
pub fn local_pass(project: &Project, files: &[MigrationFile]) -> Option<LocalPass> {
    let set = set_hash(files);
    std::fs::read_to_string(pass_file(project))
        .ok()
        .and_then(|t| serde_json::from_str::<PassFile>(&t).ok())
        .and_then(|f| f.passed.into_iter().find(|p| p.migration_set == set))
        .map(|p| LocalPass {
            migration_set: p.migration_set,
            at: p.at,
        })
}

/// A throwaway database with every migration and the seed applied (and the Supabase layer for
/// Supabase projects): where `secure` and `test` run by default. Dropping the cluster removes it.
pub fn replayed(
    project: &Project,
    files: &[MigrationFile],
) -> Result<(dbsage_cluster::Cluster, Client)> {
    let cluster = crate::server_settings::start_throwaway(project, files)?;
    let mut client = cluster.connect("postgres")?;
    if project.is_supabase() {
        crate::supabase_layer::install(&mut client, project)?;
    }
    replay_into(&mut client, project, files)?;
    Ok((cluster, client))
}

/// Every migration and the seed applied on `client`'s (throwaway) database, which already has
/// the Supabase layer when the project needs it: [`replayed`] on a database of a cluster the
/// caller shares with other work (`dbsage diff` builds both sides on one cluster).
pub fn replay_into(client: &mut Client, project: &Project, files: &[MigrationFile]) -> Result<()> {
    migrate::run(
        client,
        project,
        files,
        &mut RunOptions {
            allow_out_of_order: true,
            ..Default::default()
        },
        &mut |_| {},
    )?;
    apply_seed(client, project)?;
    Ok(())
}

/// The applied files the idempotency check did not re-run because they hold BEGIN/COMMIT of
/// their own (adopted layouts).
fn own_transactions_note(
    files: &[MigrationFile],
    applied: &[migrate::AppliedMigration],
) -> Option<String> {
    let skipped: Vec<String> = files
        .iter()
        .filter(|f| applied.iter().any(|a| a.version == f.version))
        .filter(|f| crate::migrations::has_transaction_control(&f.text))
        .map(|f| f.label())
        .collect();
    (!skipped.is_empty()).then(|| {
        format!(
            "not re-run (BEGIN/COMMIT of their own; re-running is not rolled back): {}",
            skipped.join(", ")
        )
    })
}
