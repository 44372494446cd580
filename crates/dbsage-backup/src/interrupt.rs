//! Ctrl-C during a backup: the signal handler exits the process, so the backup in progress is
//! registered here; [`abort_in_progress`] stops its pg_dump (own process group) and removes
//! the partial folder.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

struct InProgress {
    dir: PathBuf,
    /// The process groups of pg_dump and pg_dumpall (each its own: `process_group(0)`).
    child_groups: Vec<i32>,
}

static IN_PROGRESS: Mutex<Option<InProgress>> = Mutex::new(None);

pub(crate) fn begin(dir: &Path) {
    *IN_PROGRESS.lock().unwrap_or_else(|e| e.into_inner()) = Some(InProgress {
        dir: dir.to_path_buf(),
        child_groups: Vec::new(),
    });
}

pub(crate) fn set_child(pid: u32) {
    if let Some(p) = IN_PROGRESS
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .as_mut()
    {
        p.child_groups.push(pid as i32);
    }
}

pub(crate) fn clear_child(pid: u32) {
    if let Some(p) = IN_PROGRESS
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .as_mut()
    {
        p.child_groups.retain(|g| *g != pid as i32);
    }
}

pub(crate) fn end() {
    *IN_PROGRESS.lock().unwrap_or_else(|e| e.into_inner()) = None;
}

/// For a signal handler: stops the running pg_dump/pg_dumpall and removes the unfinished
/// backup folder. Returns the folder when there was one.
pub fn abort_in_progress() -> Option<PathBuf> {
    let taken = IN_PROGRESS
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .take()?;
    for group in taken.child_groups {
        // SAFETY: signalling the process group of a child we started.
        unsafe { libc::kill(-group, libc::SIGTERM) };
    }
    // Workers may still be closing files: retry until the folder is gone.
    for _ in 0..50 {
        let _ = std::fs::remove_dir_all(&taken.dir);
        if !taken.dir.exists() {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Some(taken.dir)
}
