//! The gates in front of a protected environment: the migration set must have passed
//! `migrate --local` in this checkout, and a person must confirm by typing the environment's
//! name (or the script passes `--yes`). Overrides are recorded in the audit log.

use crate::config::Project;
use crate::env::Target;
use crate::error::{Error, Result};
use crate::local::has_passed_locally;
use crate::migrations::MigrationFile;

#[derive(Debug, Clone, Default)]
pub struct GateOptions {
    pub yes: bool,
    pub skip_local_check: bool,
    /// Apply despite lint errors (recorded in the audit log).
    pub skip_lint: bool,
    pub dry_run: bool,
}

/// Audit events that the run must record once connected.
#[derive(Debug, Clone, Default)]
pub struct GateOutcome {
    pub overrides: Vec<(String, String)>,
}

/// How the caller asks a person: `None` when nobody can be asked (no terminal).
pub type Confirm<'a> = dyn FnMut(&str) -> Option<String> + 'a;

pub fn check(
    project: &Project,
    target: &Target,
    files: &[MigrationFile],
    options: &GateOptions,
    what: &str,
    confirm: &mut Confirm,
) -> Result<GateOutcome> {
    let mut outcome = GateOutcome::default();
    if !target.protected || options.dry_run {
        return Ok(outcome);
    }
    let findings = crate::lint::lint_migrations(project, files)?;
    let errors: Vec<_> = findings
        .iter()
        .filter(|f| f.severity == dbsage_lint::Severity::Error)
        .collect();
    if !errors.is_empty() {
        let listed: Vec<String> = errors
            .iter()
            .take(5)
            .map(|f| {
                format!(
                    "{}:{}:{}: [{}] {}",
                    f.file.display(),
                    f.line,
                    f.column,
                    f.rule,
                    f.message
                )
            })
            .collect();
        if options.skip_lint {
            outcome.overrides.push((
                "lint_skipped".into(),
                format!(
                    "--skip-lint with {} lint error(s): {}",
                    errors.len(),
                    listed.join("; ")
                ),
            ));
        } else {
            return Err(Error::Refused {
                message: format!(
                    "refusing to {what} `{}`: the linter found {} error(s):\n  {}",
                    target.name,
                    errors.len(),
                    listed.join("\n  ")
                ),
                hint: "fix them (`dbsage lint` shows each with its fix), or pass --skip-lint, which is recorded in the audit log".into(),
            });
        }
    }
    if !has_passed_locally(project, files) {
        if options.skip_local_check {
            outcome.overrides.push((
                "local_check_skipped".into(),
                "--skip-local-check: the migration set had not passed migrate --local".into(),
            ));
        } else {
            return Err(Error::Refused {
                message: format!(
                    "refusing to {what} `{}`: it is protected, and this migration set has not passed `dbsage migrate --local`",
                    target.name
                ),
                hint: "run `dbsage migrate --local` first (it tests every migration on a throwaway database); --skip-local-check overrides this and is recorded in the audit log".into(),
            });
        }
    }
    confirm_protected(target, what, options.yes, confirm)?;
    Ok(outcome)
}

/// The typed confirmation alone, for commands that change data rather than schema (import).
pub fn confirm_protected(
    target: &Target,
    what: &str,
    yes: bool,
    confirm: &mut Confirm,
) -> Result<()> {
    if !target.protected || yes {
        return Ok(());
    }
    let prompt = format!(
        "`{}` is protected ({}). Type its name to {what} it",
        target.name, target.display
    );
    match confirm(&prompt) {
        Some(answer) if answer.trim() == target.name => Ok(()),
        Some(_) => Err(Error::Refused {
            message: "the name typed does not match: nothing was changed".into(),
            hint: String::new(),
        }),
        None => Err(Error::Refused {
            message: format!(
                "refusing to {what} protected environment `{}` without confirmation (no terminal to ask on)",
                target.name
            ),
            hint: "pass --yes in scripts and CI".into(),
        }),
    }
}
