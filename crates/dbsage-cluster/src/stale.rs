//! What killed dbsage runs leave behind: throwaway clusters (in `/dev/shm` or the temp dir),
//! initdb scratch directories and half-copied templates. Each records its owner; the next dbsage
//! run of any kind removes those whose owner is gone ([`clean_stale_clusters`]).

use std::fs;
use std::io;
use std::path::Path;
use std::time::Duration;

use crate::template::{cache_dir, INITDB_SCRATCH_PREFIX, STAGED_TEMPLATE_MARK};

/// Name of the file that records a directory's owning process as "pid starttime".
const OWNER_FILE: &str = "owner";

/// Records this process as the owner of `dir`. Written to a temporary name and renamed, so a
/// concurrent cleaner never reads half a stamp.
pub(crate) fn write_owner(dir: &Path) -> io::Result<()> {
    let stamp = owner_stamp(std::process::id()).unwrap_or_default();
    let partial = dir.join(format!("{OWNER_FILE}.partial"));
    fs::write(&partial, stamp)?;
    fs::rename(partial, dir.join(OWNER_FILE))
}

/// Removes clusters, initdb scratch directories and staged templates whose owning dbsage process
/// is gone (killed with `kill -9`, power loss), stopping a cluster's postmaster first if it still
/// runs. Cheap (a few directory listings): every dbsage command calls it at start-up.
pub fn clean_stale_clusters() {
    for registry in crate::registry_dirs() {
        clean_owned_dirs(&registry, |_| true);
    }
    clean_owned_dirs(&std::env::temp_dir(), |name| {
        name.starts_with(INITDB_SCRATCH_PREFIX)
    });
    clean_staged_templates(&cache_dir().join("templates"));
}

/// Removes the entries of `parent` accepted by `wanted` whose owner is dead.
fn clean_owned_dirs(parent: &Path, wanted: impl Fn(&str) -> bool) {
    let Ok(entries) = fs::read_dir(parent) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        if !wanted(&name.to_string_lossy()) {
            continue;
        }
        let dir = entry.path();
        let abandoned = match fs::read_to_string(dir.join(OWNER_FILE)) {
            Ok(owner) => owner_is_gone(&owner),
            // Being created right now, or not ours: leave it unless clearly abandoned.
            Err(_) => is_older_than(&dir, Duration::from_secs(3600)),
        };
        if abandoned {
            crate::stop_postmaster_of(&dir.join("data"));
            let _ = fs::remove_dir_all(&dir);
        }
    }
}

/// `pg15.18-KEY.staged-PID-SEQ` directories whose copying process is gone.
fn clean_staged_templates(templates: &Path) {
    let Ok(entries) = fs::read_dir(templates) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        let Some(pid) = name
            .split_once(STAGED_TEMPLATE_MARK)
            .and_then(|(_, owner)| owner.split('-').next())
            .and_then(|pid| pid.parse::<u32>().ok())
        else {
            continue;
        };
        if !crate::process_alive(pid) {
            let _ = fs::remove_dir_all(entry.path());
        }
    }
}

/// True when the stamp names a process that no longer runs (or a recycled pid). A stamp that is
/// not "pid starttime" is someone else's file: left alone.
fn owner_is_gone(stamp: &str) -> bool {
    let mut fields = stamp.split_whitespace();
    let (Some(pid), Some(_start)) = (fields.next(), fields.next()) else {
        return false;
    };
    let Ok(pid) = pid.parse::<u32>() else {
        return false;
    };
    owner_stamp(pid).as_deref() != Some(stamp)
}

/// "pid starttime": the start time tells a live owner from a recycled pid.
pub(crate) fn owner_stamp(pid: u32) -> Option<String> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Field 22 (starttime); the command name (field 2) may hold spaces, so count after ')'.
    let after = &stat[stat.rfind(')')? + 2..];
    let start = after.split_whitespace().nth(19)?;
    Some(format!("{pid} {start}"))
}

fn is_older_than(path: &Path, age: Duration) -> bool {
    fs::metadata(path)
        .and_then(|m| m.modified())
        .map(|t| t.elapsed().unwrap_or_default() > age)
        .unwrap_or(false)
}
