//! One module per command: parse arguments, call the library, render.

pub mod dev;
pub mod history;
pub mod import;
pub mod init;
pub mod lint;
pub mod migrate;
pub mod new;
pub mod repair;
pub mod rollback;
pub mod secure;
pub mod status;

use dbsage_core::config::Project;
use dbsage_core::migrations::{self, MigrationFile};
use dbsage_core::Result;

/// The project around the current directory.
pub fn project() -> Result<Project> {
    let cwd = std::env::current_dir()
        .map_err(|e| dbsage_core::Error::io("reading the current directory", e))?;
    Project::discover(&cwd)
}

/// The project and its migration files.
pub fn project_and_files() -> Result<(Project, Vec<MigrationFile>)> {
    let project = project()?;
    let files = migrations::discover_project(&project)?;
    Ok((project, files))
}

/// A path relative to the current directory when possible (shorter messages).
pub fn display_path(path: &std::path::Path) -> String {
    std::env::current_dir()
        .ok()
        .and_then(|cwd| path.strip_prefix(cwd).ok().map(|p| p.display().to_string()))
        .unwrap_or_else(|| path.display().to_string())
}
