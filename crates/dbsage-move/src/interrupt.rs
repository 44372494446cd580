//! Ctrl-C while the source is read-only: the CLI's signal handler exits the process, so the
//! move registers its read-only source (and its dump directory) here, and [`restore_source`]
//! sets the source writable again before the exit. pg_dump and pg_restore are in the
//! terminal's foreground process group and get the Ctrl-C themselves.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use dbsage_core::config::Project;
use dbsage_core::env::Target;

struct ReadOnlySource {
    project: Project,
    source: Target,
    database: String,
    was_read_only: bool,
    work_dir: Option<PathBuf>,
}

static IN_PROGRESS: Mutex<Option<ReadOnlySource>> = Mutex::new(None);

fn slot() -> std::sync::MutexGuard<'static, Option<ReadOnlySource>> {
    IN_PROGRESS.lock().unwrap_or_else(|e| e.into_inner())
}

pub(crate) fn begin(
    project: &Project,
    source: &Target,
    database: &str,
    was_read_only: bool,
    work_dir: Option<&Path>,
) {
    *slot() = Some(ReadOnlySource {
        project: project.clone(),
        source: source.clone(),
        database: database.to_string(),
        was_read_only,
        work_dir: work_dir.map(Path::to_path_buf),
    });
}

pub(crate) fn end() {
    *slot() = None;
}

/// For the signal handler: the source of an interrupted move as it was before it, and the
/// sentence saying so (None when no move had made a source read-only).
pub fn restore_source() -> Option<String> {
    let registered = slot().take()?;
    if let Some(dir) = &registered.work_dir {
        let _ = std::fs::remove_dir_all(dir);
    }
    let drained = crate::read_only::Drained {
        was_read_only: registered.was_read_only,
        waited_ms: 0,
        cut_transactions: 0,
        terminated: 0,
    };
    let mut client = registered
        .source
        .connect(&registered.project, "dbsage move (interrupted)")
        .ok();
    Some(crate::read_only::restore_after_failure(
        client.as_mut(),
        &drained,
        &registered.database,
    ))
}
