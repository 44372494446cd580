//! Retention, applied only after a backup succeeded: a complete backup is kept when it is one of
//! the newest `keep_last` or younger than `keep_days` (either rule keeps it); the backup just
//! taken and unfinished folders are never touched.

use std::path::Path;

use crate::config::BackupConfig;

/// Removes the backups of `env_dir` that no rule keeps; returns their IDs.
pub fn apply(
    env_dir: &Path,
    config: &BackupConfig,
    just_taken: &str,
) -> dbsage_core::Result<Vec<String>> {
    if config.keep_last.is_none() && config.keep_days.is_none() {
        return Ok(Vec::new());
    }
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let env = env_dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut complete: Vec<(String, i64)> = std::fs::read_dir(env_dir)
        .map_err(|e| dbsage_core::Error::io(format!("reading {}", env_dir.display()), e))?
        .flatten()
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter_map(|id| {
            let s = crate::store::summary(&env, &id, &env_dir.join(&id));
            Some((id, s.created_unix?))
        })
        .collect();
    complete.sort_by(|a, b| b.0.cmp(&a.0));
    let mut removed = Vec::new();
    for (position, (id, created)) in complete.iter().enumerate() {
        if id == just_taken {
            continue;
        }
        let kept_by_count = config.keep_last.is_some_and(|n| position < n);
        let kept_by_age = config
            .keep_days
            .is_some_and(|days| now - created < (days as i64) * 86_400);
        if kept_by_count || kept_by_age {
            continue;
        }
        let dir = env_dir.join(id);
        std::fs::remove_dir_all(&dir).map_err(|e| {
            dbsage_core::Error::io(format!("removing old backup {}", dir.display()), e)
        })?;
        removed.push(id.clone());
    }
    Ok(removed)
}
