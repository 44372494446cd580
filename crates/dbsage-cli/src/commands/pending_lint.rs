//! Before migrating an environment that is neither the dev database nor protected, show the
//! pending files' lint findings: nobody should learn about a destructive statement on staging
//! from its users. They do not block there (a protected database's gate blocks on errors).

use std::collections::HashSet;
use std::path::Path;

use dbsage_core::config::Project;
use dbsage_core::migrations::MigrationFile;
use dbsage_lint::{Severity, SourceFile};

use crate::output::Out;

pub fn show(
    client: &mut postgres::Client,
    project: &Project,
    files: &[MigrationFile],
    environment: &str,
    out: &Out,
) -> dbsage_core::Result<()> {
    let applied = dbsage_core::history::read(client, &project.history_table())?;
    let pending: HashSet<&Path> = files
        .iter()
        .filter(|f| !applied.iter().any(|a| a.version == f.version))
        .map(|f| f.path.as_path())
        .collect();
    if pending.is_empty() {
        return Ok(());
    }
    // Every file is read for context (which tables already exist); only pending ones report.
    let sources: Vec<SourceFile> = files
        .iter()
        .map(|f| SourceFile {
            path: f.path.clone(),
            text: f.text.clone(),
        })
        .collect();
    let mut findings = dbsage_core::lint::lint_sources(project, &sources)?;
    findings.retain(|f| pending.contains(f.file.as_path()));
    if findings.is_empty() {
        return Ok(());
    }
    err_text!(
        "{}",
        dbsage_lint::render_human(&findings, &sources, out.color_err())
    );
    let errors = findings
        .iter()
        .filter(|f| f.severity == Severity::Error)
        .count();
    out.warn(&format!(
        "{} in the pending migrations, {}; `{environment}` is not protected, so they do not block",
        dbsage_core::wording::plural(findings.len(), "lint finding"),
        dbsage_core::wording::plural(errors, "error")
    ));
    Ok(())
}
