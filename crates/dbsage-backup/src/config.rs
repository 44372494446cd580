//! `[backup]` in dbsage.toml: where backups go, how many are kept, the checksum size limit.

use std::path::PathBuf;

use dbsage_core::config::Project;
use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BackupConfig {
    /// Backups go to `<dir>/<environment>/<UTC timestamp>/` (relative to the project root).
    pub dir: PathBuf,
    /// Keep the newest N backups of an environment (unset: no count limit).
    pub keep_last: Option<usize>,
    /// Keep backups younger than N days (unset: no age limit). A backup kept by either rule stays.
    pub keep_days: Option<u64>,
    /// Tables up to this size (pg_table_size, bytes) get a content checksum; computed twice
    /// (backup and verify), it is what costs most on big tables, which get exact counts.
    pub checksum_max_bytes: i64,
    /// `dbsage health` warns when the last good `backup drill` is older: `30d`, `12h`, `2w`.
    pub drill_max_age: String,
}

impl Default for BackupConfig {
    fn default() -> Self {
        BackupConfig {
            dir: PathBuf::from(".dbsage/backups"),
            keep_last: None,
            keep_days: None,
            checksum_max_bytes: 8 * 1024 * 1024,
            drill_max_age: "30d".into(),
        }
    }
}

impl BackupConfig {
    pub fn of(project: &Project) -> dbsage_core::Result<BackupConfig> {
        let Some(raw) = project.config.other.get("backup") else {
            return Ok(BackupConfig::default());
        };
        raw.clone()
            .try_into::<BackupConfig>()
            .map_err(|e| dbsage_core::Error::Config {
                message: format!("dbsage.toml [backup]: {}", e.message()),
                hint: "keys: dir, keep_last, keep_days, checksum_max_bytes, drill_max_age".into(),
            })
    }

    /// `drill_max_age` in seconds: a number and a unit (`h`, `d`, `w`).
    pub fn drill_max_age_seconds(&self) -> dbsage_core::Result<i64> {
        let text = self.drill_max_age.trim();
        let split = text
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(text.len());
        let unit = match text[split..].trim() {
            "h" => 3_600,
            "d" => 86_400,
            "w" => 7 * 86_400,
            _ => 0,
        };
        match text[..split].parse::<i64>() {
            Ok(n) if unit > 0 && n > 0 => Ok(n * unit),
            _ => Err(dbsage_core::Error::Config {
                message: format!("dbsage.toml [backup] drill_max_age = {text:?} is not an age"),
                hint: "write it like 30d, 12h or 2w".into(),
            }),
        }
    }

    /// The folder that holds an environment's backups.
    pub fn env_dir(&self, project: &Project, environment: &str) -> PathBuf {
        project.root.join(&self.dir).join(environment)
    }

    /// The folder that holds every environment's backups.
    pub fn root_dir(&self, project: &Project) -> PathBuf {
        project.root.join(&self.dir)
    }
}
