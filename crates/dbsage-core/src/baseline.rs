//! Adopted histories are judged from the adoption on. Files at or before `[project] baseline`
//! (written by `init --adopt`) were applied once by another tool: they are replayed, but the
//! idempotency check skips them and their lint findings are context, never gate errors. The
//! same holds for a file applied to a protected database with an audited `--skip-lint`
//! (recorded in the committed `dbsage.lint-skipped.toml`, see [`crate::lint_skipped`]), so one
//! override does not have to be repeated forever, in any checkout. `-- dbsage:not-idempotent <reason>` opts one file out of
//! the idempotency check.

use crate::config::Project;
use crate::migrations::{compare_versions, MigrationFile};

pub use crate::lint_skipped::{lint_skipped, record_lint_skipped, LintSkipped};

/// The directive that opts a file out of the idempotency check.
pub const NOT_IDEMPOTENT: &str = "not-idempotent";

/// True when `file` is at or before the project's baseline.
pub fn at_or_before_baseline(project: &Project, file: &MigrationFile) -> bool {
    project
        .config
        .project
        .baseline
        .as_deref()
        .is_some_and(|b| compare_versions(&file.version, b).is_le())
}

/// How the idempotency check treats one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdempotencyScope {
    /// Re-run on top of itself.
    Checked,
    /// At or before the baseline: applied once by another tool, not re-run.
    Baseline,
    /// `-- dbsage:not-idempotent <reason>`.
    OptedOut { reason: String },
    /// `-- dbsage:not-idempotent` without a reason, at this 1-based line and column.
    ReasonMissing { line: usize, column: usize },
}

pub fn idempotency_scope(project: &Project, file: &MigrationFile) -> IdempotencyScope {
    if at_or_before_baseline(project, file) {
        return IdempotencyScope::Baseline;
    }
    let Some(directive) = dbsage_sql::directives(&file.text)
        .into_iter()
        .find(|d| d.name == NOT_IDEMPOTENT)
    else {
        return IdempotencyScope::Checked;
    };
    if directive.argument.is_empty() {
        let at = dbsage_sql::line_col(&file.text, directive.offset);
        return IdempotencyScope::ReasonMissing {
            line: at.line,
            column: at.column,
        };
    }
    IdempotencyScope::OptedOut {
        reason: directive.argument,
    }
}

/// Why a file's lint findings are context rather than gate errors, if they are.
pub fn lint_context_reason(
    project: &Project,
    file: &MigrationFile,
    skipped: &[LintSkipped],
) -> Option<String> {
    if at_or_before_baseline(project, file) {
        return Some(format!(
            "at or before the baseline {}: applied once by another tool before dbsage adopted the project",
            project.config.project.baseline.as_deref().unwrap_or_default()
        ));
    }
    skipped
        .iter()
        .find(|s| s.version == file.version && s.checksum == file.checksum)
        .map(|s| {
            format!(
                "applied to `{}` with an audited --skip-lint at {}",
                s.environment, s.at
            )
        })
}

/// Splits lint findings into those that count and those that are context, each context
/// finding with its reason.
pub fn split_lint_findings(
    files: &[MigrationFile],
    findings: Vec<dbsage_lint::Finding>,
    context_file: &dyn Fn(&MigrationFile) -> Option<String>,
) -> (
    Vec<dbsage_lint::Finding>,
    Vec<(dbsage_lint::Finding, String)>,
) {
    let mut counting = Vec::new();
    let mut context = Vec::new();
    for finding in findings {
        let reason = files
            .iter()
            .find(|f| f.path == finding.file)
            .and_then(context_file);
        match reason {
            Some(reason) => context.push((finding, reason)),
            None => counting.push(finding),
        }
    }
    (counting, context)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(version: &str, text: &str) -> MigrationFile {
        MigrationFile {
            version: version.into(),
            name: "x".into(),
            path: format!("{version}_x.sql").into(),
            text: text.into(),
            checksum: crate::migrations::checksum(text),
            down: None,
            tool_no_transaction: false,
        }
    }

    #[test]
    fn scope_follows_baseline_and_directive() {
        let mut project = Project {
            root: ".".into(),
            config: Default::default(),
        };
        project.config.project.baseline = Some("20240102000000".into());
        let old = file("20240102000000", "insert into t values (1);");
        assert_eq!(
            idempotency_scope(&project, &old),
            IdempotencyScope::Baseline
        );
        let opted = file(
            "20240103000000",
            "-- dbsage:not-idempotent one-off backfill\ninsert into t values (1);",
        );
        assert_eq!(
            idempotency_scope(&project, &opted),
            IdempotencyScope::OptedOut {
                reason: "one-off backfill".into()
            }
        );
        let bare = file("20240104000000", "select 1;\n  -- dbsage:not-idempotent\n");
        assert_eq!(
            idempotency_scope(&project, &bare),
            IdempotencyScope::ReasonMissing { line: 2, column: 3 }
        );
        assert_eq!(
            idempotency_scope(&project, &file("20240105000000", "select 1;")),
            IdempotencyScope::Checked
        );
    }
}
