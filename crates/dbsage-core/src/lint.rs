//! The migration linter as a gate: `dbsage lint`, `migrate --local` and protected `migrate`
//! read `[lint]` from dbsage.toml and lint the up files in migration order.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;

use dbsage_lint::{Finding, LintConfig, SourceFile};

use crate::config::Project;
use crate::error::{Error, Result};
use crate::migrations::MigrationFile;

/// The `[lint]` table of dbsage.toml (defaults when absent), with the project's exposed schemas
/// when `[lint] exposed_schemas` is not set (see [`crate::exposure`]) and its target PostgreSQL
/// version (see [`crate::lint_target`]).
pub fn config(project: &Project) -> Result<LintConfig> {
    let exposure = crate::exposure::exposed_schemas(project)?;
    let config = match project.config.other.get("lint") {
        None => LintConfig::default(),
        Some(value) => value
            .clone()
            .try_into()
            .map_err(|e: toml::de::Error| Error::Config {
                message: format!("[lint] in dbsage.toml: {}", e.message()),
                hint: "see `dbsage lint --help` for the keys".into(),
            })?,
    };
    Ok(LintConfig {
        target_major: crate::lint_target::target_major(project)?,
        ..config.with_exposed_schemas(exposure.schemas)
    })
}

/// Lints the migrations' up files, in order (down files undo on purpose: not linted).
pub fn lint_migrations(project: &Project, files: &[MigrationFile]) -> Result<Vec<Finding>> {
    let sources: Vec<SourceFile> = files
        .iter()
        .map(|f| SourceFile {
            path: f.path.clone(),
            text: f.text.clone(),
        })
        .collect();
    let findings = lint_sources(project, &sources)?;
    let (kept, _) = Treatment::of_files(files).apply(findings);
    Ok(kept)
}

/// What the gates know about migration files beyond their text, taken before the text goes to
/// the linter, so `migrate` and the standalone `lint` judge findings the same way.
#[derive(Debug, Default)]
pub struct Treatment {
    /// Adopted files the tool runs outside a transaction (their own BEGIN/COMMIT, a lone
    /// CONCURRENTLY under Prisma): they run that way here too, so their transaction control is
    /// no finding.
    own_transaction: HashSet<PathBuf>,
    /// Files whose findings are context, never failing, with why (see [`crate::baseline`]).
    context: HashMap<PathBuf, String>,
}

impl Treatment {
    /// Only the adopted files' own transactions (what the migrate gate applies).
    pub fn of_files(files: &[MigrationFile]) -> Treatment {
        Treatment {
            own_transaction: files
                .iter()
                .filter(|f| f.tool_no_transaction)
                .map(|f| f.path.clone())
                .collect(),
            context: HashMap::new(),
        }
    }

    /// Also the files at or before `[project] baseline` or applied with an audited
    /// `--skip-lint`, whose findings are context (as in `migrate --local`).
    pub fn with_context(project: &Project, files: &[MigrationFile]) -> Result<Treatment> {
        let skipped = crate::baseline::lint_skipped(project)?;
        let context = files
            .iter()
            .filter_map(|f| {
                crate::baseline::lint_context_reason(project, f, &skipped)
                    .map(|why| (f.path.clone(), why))
            })
            .collect();
        Ok(Treatment {
            context,
            ..Treatment::of_files(files)
        })
    }

    /// Drops the adopted files' transaction control and splits off the context findings, each
    /// with why it does not count.
    pub fn apply(&self, findings: Vec<Finding>) -> (Vec<Finding>, Vec<(Finding, String)>) {
        let mut counting = Vec::new();
        let mut context = Vec::new();
        for finding in findings {
            if finding.rule == "explicit-transaction-control"
                && self.own_transaction.contains(&finding.file)
            {
                continue;
            }
            match self.context.get(&finding.file) {
                Some(why) => context.push((finding, why.clone())),
                None => counting.push(finding),
            }
        }
        (counting, context)
    }
}

pub fn lint_sources(project: &Project, sources: &[SourceFile]) -> Result<Vec<Finding>> {
    lint_sources_for(project, sources, None)
}

/// [`lint_sources`] for PostgreSQL `pg_version` (`dbsage lint --pg-version`) instead of the
/// project's target version.
pub fn lint_sources_for(
    project: &Project,
    sources: &[SourceFile],
    pg_version: Option<u32>,
) -> Result<Vec<Finding>> {
    let mut config = config(project)?;
    if pg_version.is_some() {
        config.target_major = pg_version;
    }
    dbsage_lint::lint(sources, &config).map_err(|e| Error::Config {
        message: format!("[lint] in dbsage.toml: {e}"),
        hint: "`dbsage lint --explain RULE` documents each rule".into(),
    })
}
