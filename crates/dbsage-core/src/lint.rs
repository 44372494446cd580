//! The migration linter as a gate: `dbsage lint`, `migrate --local` and protected `migrate`
//! read `[lint]` from dbsage.toml and lint the up files in migration order.

use dbsage_lint::{Finding, LintConfig, SourceFile};

use crate::config::Project;
use crate::error::{Error, Result};
use crate::migrations::MigrationFile;

/// The `[lint]` table of dbsage.toml (defaults when absent), with the project's exposed schemas
/// when `[lint] exposed_schemas` is not set (see [`crate::exposure`]).
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
    Ok(config.with_exposed_schemas(exposure.schemas))
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
    let mut findings = lint_sources(project, &sources)?;
    // An adopted file the tool runs outside a transaction (its own BEGIN/COMMIT, a lone
    // CONCURRENTLY under Prisma) runs that way here too: its transaction control is no finding.
    findings.retain(|finding| {
        finding.rule != "explicit-transaction-control"
            || !files
                .iter()
                .any(|f| f.tool_no_transaction && f.path == finding.file)
    });
    Ok(findings)
}

pub fn lint_sources(project: &Project, sources: &[SourceFile]) -> Result<Vec<Finding>> {
    let config = config(project)?;
    dbsage_lint::lint(sources, &config).map_err(|e| Error::Config {
        message: format!("[lint] in dbsage.toml: {e}"),
        hint: "`dbsage lint --explain RULE` documents each rule".into(),
    })
}
