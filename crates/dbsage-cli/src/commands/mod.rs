//! One module per command: parse arguments, call the library, render.

pub mod backup;
pub mod backup_drill;
pub mod config;
pub mod config_sections;
pub mod deploy;
pub mod dev;
pub mod diff;
pub mod dry_run_sql;
pub mod explain;
pub mod findings;
pub mod fleet;
pub mod fleet_deploy;
pub mod fleet_health;
pub mod fleet_migrate;
pub mod fleet_reads;
pub mod gen;
pub mod health;
pub mod health_drill;
pub mod history;
pub mod import;
pub mod init;
pub mod learn_lint_skipped;
pub mod lint;
pub mod lint_context;
pub mod migrate;
pub mod move_db;
pub mod new;
pub mod override_reason;
pub mod paths;
pub mod pending_lint;
pub mod pg;
pub mod pg_version;
pub mod pitr;
pub mod psql;
pub mod repair;
pub mod report;
pub mod review;
pub mod review_live;
pub mod rollback;
pub mod schema;
pub mod secure;
pub mod shell;
pub mod status;
pub mod status_all;
pub mod tune;
pub mod tune_queries;

use dbsage_core::config::Project;
use dbsage_core::migrations::{self, MigrationFile};
use dbsage_core::Result;

/// The project around the current directory. Warns (once: commands call this once) when two
/// environment names point at the same database.
pub fn project() -> Result<Project> {
    let cwd = std::env::current_dir()
        .map_err(|e| dbsage_core::Error::io("reading the current directory", e))?;
    let project = Project::discover(&cwd)?;
    for warning in same_database_warnings(&project) {
        err_line!("warning: {warning}");
    }
    Ok(project)
}

/// "environments `a` and `b` point at the same database …", one per database.
pub fn same_database_warnings(project: &Project) -> Vec<String> {
    dbsage_core::env::same_database_environments(project)
        .into_iter()
        .map(|(names, database)| {
            let quoted: Vec<String> = names.iter().map(|n| format!("`{n}`")).collect();
            let (last, rest) = quoted.split_last().expect("a group has two names or more");
            format!(
                "environments {} and {last} point at the same database ({database}); once it is protected, every one of them gets its gates",
                rest.join(", ")
            )
        })
        .collect()
}

/// The project and its migration files.
pub fn project_and_files() -> Result<(Project, Vec<MigrationFile>)> {
    let project = project()?;
    let discovered = migrations::discover_project_noting(&project)?;
    if let Some(note) = discovered.ignored_note(&project) {
        err_line!("note: {note}");
    }
    if let Some(note) = discovered.own_transactions_note(&project) {
        err_line!("warning: {note}");
    }
    Ok((project, discovered.files))
}

/// A path relative to the current directory (`../migrations/x.sql` from a subdirectory).
pub fn display_path(path: &std::path::Path) -> String {
    paths::from_cwd(path).display().to_string()
}

/// "→ staging (db.example.com/app)" on stderr before a command touches a database, so a user
/// with DATABASE_URL set sees the default is another database; human output only, password
/// never shown (`display` is redacted).
pub fn announce(out: &crate::output::Out, target: &dbsage_core::env::Target) {
    if !out.json_mode() {
        err_line!(
            "→ {} ({})",
            out.paint_err(&target.name, crate::output::Style::Bold),
            dbsage_core::redact::redact(&target.display)
        );
    }
}
