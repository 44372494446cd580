//! On connecting to an environment: files its audit log says were applied with `--skip-lint`
//! (from another machine, or a checkout without the committed record) are written into
//! `dbsage.lint-skipped.toml`, so `migrate --local` here stops failing on them.

use dbsage_core::env::Target;
use dbsage_core::lint_skipped;

use crate::output::Out;

/// Never fails the command: reading the audit log is a courtesy, so a failure is a warning.
pub fn learn(
    client: &mut postgres::Client,
    project: &dbsage_core::config::Project,
    target: &Target,
    out: &Out,
) {
    match lint_skipped::learn_from_database(client, project, &target.name) {
        Ok(versions) if versions.is_empty() => {}
        Ok(versions) => out.status(
            "Recorded",
            &format!(
                "{} applied to `{}` with an audited --skip-lint ({}) in {}: commit it",
                dbsage_core::wording::plural(versions.len(), "file"),
                target.name,
                versions.join(", "),
                lint_skipped::FILE_NAME
            ),
        ),
        Err(e) => out.warn(&format!(
            "could not read which files `{}` applied with --skip-lint: {e}",
            target.name
        )),
    }
}
