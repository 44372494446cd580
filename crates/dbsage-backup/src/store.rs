//! Where backups are: `<[backup] dir>/<environment>/<ID>/`; listing and finding one by ID,
//! `latest` or its folder.

use std::path::{Path, PathBuf};

use dbsage_core::config::Project;

use crate::config::BackupConfig;
use crate::manifest::{Manifest, FILE_NAME};

#[derive(Debug, Clone, serde::Serialize)]
pub struct BackupSummary {
    pub id: String,
    pub environment: String,
    pub dir: PathBuf,
    /// `complete`, or `unfinished` (no manifest: interrupted, or being written).
    pub state: &'static str,
    pub created_at: Option<String>,
    pub created_unix: Option<i64>,
    pub database: Option<String>,
    pub content: Option<String>,
    pub total_bytes: Option<u64>,
    pub tables: Option<usize>,
    pub rows: Option<i64>,
    pub duration_ms: Option<u64>,
    /// The last `backup verify` of it: `ok` or `failed`, and when.
    pub last_verify: Option<serde_json::Value>,
}

/// The backups of `environment` (every environment when `None`), newest first.
pub fn list(
    project: &Project,
    environment: Option<&str>,
) -> dbsage_core::Result<Vec<BackupSummary>> {
    let config = BackupConfig::of(project)?;
    let root = config.root_dir(project);
    let envs: Vec<String> = match environment {
        Some(e) => vec![e.to_string()],
        None => subdirs(&root),
    };
    let mut found = Vec::new();
    for env in envs {
        let env_dir = root.join(&env);
        for id in subdirs(&env_dir) {
            found.push(summary(&env, &id, &env_dir.join(&id)));
        }
    }
    found.sort_by(|a, b| b.id.cmp(&a.id));
    Ok(found)
}

fn subdirs(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| !n.starts_with('.'))
        .collect();
    names.sort();
    names
}

pub(crate) fn summary(environment: &str, id: &str, dir: &Path) -> BackupSummary {
    let manifest = dir
        .join(FILE_NAME)
        .exists()
        .then(|| Manifest::read(dir).ok())
        .flatten();
    let last_verify = std::fs::read_to_string(dir.join(crate::verify::RESULT_FILE))
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok());
    BackupSummary {
        id: id.to_string(),
        environment: environment.to_string(),
        dir: dir.to_path_buf(),
        state: if manifest.is_some() {
            "complete"
        } else {
            "unfinished"
        },
        created_at: manifest.as_ref().map(|m| m.created_at.clone()),
        created_unix: manifest.as_ref().map(|m| m.created_unix),
        database: manifest.as_ref().map(|m| m.database.clone()),
        content: manifest.as_ref().map(|m| m.content.clone()),
        total_bytes: manifest.as_ref().map(|m| m.total_bytes),
        tables: manifest.as_ref().map(|m| m.tables.len()),
        rows: manifest
            .as_ref()
            .map(|m| m.tables.iter().filter_map(|t| t.rows).sum()),
        duration_ms: manifest.as_ref().map(|m| m.duration_ms),
        last_verify,
    }
}

/// A backup folder from `what`: `latest` (the newest complete one), an ID, or a path.
pub fn locate(
    project: &Project,
    environment: Option<&str>,
    what: &str,
) -> dbsage_core::Result<PathBuf> {
    if what.contains('/') || (what != "latest" && Path::new(what).is_dir()) {
        return Ok(PathBuf::from(what));
    }
    let backups = list(project, environment)?;
    let scope = environment
        .map(|e| format!("environment `{e}`"))
        .unwrap_or_else(|| "any environment".into());
    let found = if what == "latest" {
        backups.iter().find(|b| b.state == "complete")
    } else {
        backups.iter().find(|b| b.id == what)
    };
    match found {
        Some(b) => Ok(b.dir.clone()),
        None => Err(crate::config_error(
            if what == "latest" {
                format!("no complete backup of {scope} yet")
            } else {
                format!("no backup `{what}` of {scope}")
            },
            "`dbsage backup list` shows the backups; `dbsage backup` takes one",
        )),
    }
}
