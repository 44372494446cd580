//! The gates in front of a protected database: the migration set must have passed
//! `migrate --local` in this checkout, and a person must confirm by typing the name the database
//! is protected under (or the script passes `--yes`), after seeing the plan. Overrides and the
//! confirmation are recorded in the audit log.
//!
//! Whether a database is protected is read from the database after connecting
//! ([`protection_of`]): the gates apply whatever environment name or URL reached it.

use crate::config::Project;
use crate::env::Target;
use crate::error::{Error, Result};
use crate::local::local_pass;
use crate::migrate::Planned;
use crate::migrations::MigrationFile;
pub use crate::protection::{protection_of, Protection};

#[derive(Debug, Clone, Default)]
pub struct GateOptions {
    pub yes: bool,
    pub skip_local_check: bool,
    /// Apply despite lint errors (recorded in the audit log).
    pub skip_lint: bool,
}

/// Audit events that the run must record once connected.
#[derive(Debug, Clone, Default)]
pub struct GateOutcome {
    /// Gates skipped on purpose: `(event, reason)`.
    pub overrides: Vec<(String, String)>,
    /// How the write was confirmed, for the `protected_confirmed` audit event.
    pub confirmation: String,
    /// The local pass stamp the gate relied on (`local_pass_relied_on`): the stamp is a file a
    /// user can edit, so the audit log keeps which one was trusted.
    pub local_pass: Option<String>,
    /// Versions of the pending files applied despite lint errors (`--skip-lint`): once they
    /// are applied, `migrate --local` shows their findings as context.
    pub lint_skipped: Vec<String>,
}

impl GateOutcome {
    /// Every `(event, reason)` to record: the overrides, the stamp relied on, then the
    /// confirmation.
    pub fn audit_events(&self) -> Vec<(String, String)> {
        let mut events = self.overrides.clone();
        events.extend(
            self.local_pass
                .iter()
                .map(|stamp| ("local_pass_relied_on".to_string(), stamp.clone())),
        );
        events.push(("protected_confirmed".into(), self.confirmation.clone()));
        events
    }
}

/// How the caller asks a person: `None` when nobody can be asked (no terminal). The prompt's
/// last line is the question; the lines before it are the plan.
pub type Confirm<'a> = dyn FnMut(&str) -> Option<String> + 'a;

/// The gates of `migrate` on a protected database: lint (once; its hazards also go into the
/// plan), the local pass, then the typed confirmation showing `planned`.
#[allow(clippy::too_many_arguments)]
pub fn check(
    project: &Project,
    target: &Target,
    protection: &Protection,
    files: &[MigrationFile],
    planned: &[Planned],
    options: &GateOptions,
    what: &str,
    confirm: &mut Confirm,
) -> Result<GateOutcome> {
    let mut outcome = GateOutcome::default();
    // Every file is linted (the model needs them replayed), but only the pending ones after
    // the baseline can fail the gate: the applied ones are context.
    let findings = crate::lint::lint_migrations(project, files)?;
    let gated: Vec<&MigrationFile> = files
        .iter()
        .filter(|f| planned.iter().any(|p| p.version == f.version))
        .filter(|f| !crate::baseline::at_or_before_baseline(project, f))
        .collect();
    let errors = gating_lint_errors(project, &findings, &gated);
    if !errors.is_empty() {
        let listed: Vec<String> = errors.iter().take(5).map(|f| lint_error_line(f)).collect();
        if options.skip_lint {
            outcome.lint_skipped = gated
                .iter()
                .filter(|g| errors.iter().any(|e| e.file == g.path))
                .map(|g| g.version.clone())
                .collect();
            outcome.overrides.push((
                "lint_skipped".into(),
                format!(
                    "--skip-lint with {}: {}",
                    crate::wording::plural(errors.len(), "lint error"),
                    listed.join("; ")
                ),
            ));
        } else {
            return Err(Error::Refused {
                message: format!(
                    "refusing to {what} `{}`: {}, and the linter found {}:\n  {}",
                    target.name,
                    protection.describe(),
                    crate::wording::plural(errors.len(), "error"),
                    listed.join("\n  ")
                ),
                hint: "fix them (`dbsage lint` shows each with its fix), or pass --skip-lint, which is recorded in the audit log".into(),
            });
        }
    }
    if let Some(pass) = local_pass(project, files) {
        outcome.local_pass = Some(format!(
            "migration set {} passed `migrate --local` at {} (stamp in .dbsage/local-pass.json)",
            pass.migration_set, pass.at
        ));
    } else if options.skip_local_check {
        outcome.overrides.push((
            "local_check_skipped".into(),
            "--skip-local-check: the migration set had not passed migrate --local".into(),
        ));
    } else {
        return Err(Error::Refused {
            message: format!(
                "refusing to {what} `{}`: {}, and this migration set has not passed `dbsage migrate --local`",
                target.name,
                protection.describe()
            ),
            hint: "run `dbsage migrate --local` first (it tests every migration on a throwaway database); --skip-local-check overrides this and is recorded in the audit log".into(),
        });
    }
    let mut plan = migrate_plan(files, planned, &findings);
    plan.extend(
        outcome
            .overrides
            .iter()
            .map(|(_, reason)| format!("gate skipped: {reason}")),
    );
    outcome.confirmation =
        confirm_protected(target, protection, what, &plan, options.yes, confirm)?;
    Ok(outcome)
}

/// The lint errors that stop a change: error-severity findings in the `pending` files, except
/// files at or before the baseline (adopted history is context). `migrate`'s gate and
/// `deploy`'s preflight judge with this one filter.
pub fn gating_lint_errors<'a>(
    project: &Project,
    findings: &'a [dbsage_lint::Finding],
    pending: &[&MigrationFile],
) -> Vec<&'a dbsage_lint::Finding> {
    let gated: Vec<&&MigrationFile> = pending
        .iter()
        .filter(|f| !crate::baseline::at_or_before_baseline(project, f))
        .collect();
    findings
        .iter()
        .filter(|f| f.severity == dbsage_lint::Severity::Error)
        .filter(|f| gated.iter().any(|g| g.path == f.file))
        .collect()
}

/// `file:line:column: [rule] message`, how a gating lint error is listed.
pub fn lint_error_line(f: &dbsage_lint::Finding) -> String {
    format!(
        "{}:{}:{}: [{}] {}",
        f.file.display(),
        f.line,
        f.column,
        f.rule,
        f.message
    )
}

/// The pending migrations with their transaction mode and lint hazards, one line each.
pub fn migrate_plan(
    files: &[MigrationFile],
    planned: &[Planned],
    findings: &[dbsage_lint::Finding],
) -> Vec<String> {
    if planned.is_empty() {
        return vec!["nothing is pending: only dbsage's bookkeeping would run".into()];
    }
    let mut plan = vec![format!(
        "would apply {}:",
        crate::wording::plural(planned.len(), "migration")
    )];
    for p in planned {
        let mode = if p.no_transaction {
            "no-transaction"
        } else {
            "transaction"
        };
        let path = files
            .iter()
            .find(|f| f.version == p.version)
            .map(|f| f.path.as_path());
        let hazards: Vec<&dbsage_lint::Finding> = findings
            .iter()
            .filter(|f| Some(f.file.as_path()) == path)
            .collect();
        let count = |severity| hazards.iter().filter(|f| f.severity == severity).count();
        let lint = if hazards.is_empty() {
            "lint: clean".to_string()
        } else {
            let mut rules: Vec<&str> = hazards.iter().map(|f| f.rule.as_str()).collect();
            rules.sort_unstable();
            rules.dedup();
            format!(
                "lint: {}, {} [{}]",
                crate::wording::plural(count(dbsage_lint::Severity::Error), "error"),
                crate::wording::plural(count(dbsage_lint::Severity::Warning), "warning"),
                rules.join(", ")
            )
        };
        plan.push(format!(
            "  {}_{} ({mode}, {}; {lint})",
            p.version,
            p.name,
            crate::wording::plural(p.statements, "statement")
        ));
    }
    plan
}

/// The typed confirmation for a write to a protected database, after showing `plan`. Returns
/// how it was confirmed (for the audit log).
pub fn confirm_protected(
    target: &Target,
    protection: &Protection,
    what: &str,
    plan: &[String],
    yes: bool,
    confirm: &mut Confirm,
) -> Result<String> {
    let reached = if target.name == protection.name {
        format!("`{}`", target.name)
    } else {
        format!("`{}`, protected as `{}`", target.name, protection.name)
    };
    if yes {
        return Ok(format!("--yes ({reached})"));
    }
    let mut prompt = format!("{} ({}).\n", protection.describe(), target.display);
    for line in plan {
        prompt.push_str(line);
        prompt.push('\n');
    }
    prompt.push_str(&format!("Type `{}` to confirm", protection.name));
    match confirm(&prompt) {
        Some(answer) if answer.trim() == protection.name => {
            Ok(format!("typed `{}` ({reached})", protection.name))
        }
        Some(_) => Err(Error::Refused {
            message: format!(
                "the name typed does not match `{}`: nothing was changed",
                protection.name
            ),
            hint: String::new(),
        }),
        None => Err(Error::Refused {
            message: format!(
                "refusing to {what} `{}` without confirmation: {} (no terminal to ask on)\n{}",
                target.name,
                protection.describe(),
                plan.join("\n")
            ),
            hint: format!(
                "run it in a terminal and type `{}`, or pass --yes in scripts and CI",
                protection.name
            ),
        }),
    }
}
