//! `[pitr]` in dbsage.toml: where dbsage keeps the pgBackRest config, repository and logs.

use std::path::PathBuf;

use dbsage_core::config::Project;
use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PitrConfig {
    /// dbsage's pgBackRest files: `pgbackrest-<stanza>.conf`, `repo/`, `log/`, `lock/`,
    /// `spool/` (relative to the project root). Never /etc: dbsage owns this config.
    pub dir: PathBuf,
    /// The repository (default `<dir>/repo`); put it on another disk than the data.
    pub repo_path: Option<PathBuf>,
    /// The stanza name (default: the environment's name).
    pub stanza: Option<String>,
    /// Full backups pgBackRest keeps (`repo1-retention-full`); older ones and their WAL go.
    pub retention_full: u32,
}

impl Default for PitrConfig {
    fn default() -> Self {
        PitrConfig {
            dir: PathBuf::from(".dbsage/pitr"),
            repo_path: None,
            stanza: None,
            retention_full: 2,
        }
    }
}

impl PitrConfig {
    pub fn of(project: &Project) -> dbsage_core::Result<PitrConfig> {
        let Some(raw) = project.config.other.get("pitr") else {
            return Ok(PitrConfig::default());
        };
        raw.clone()
            .try_into::<PitrConfig>()
            .map_err(|e| dbsage_core::Error::Config {
                message: format!("dbsage.toml [pitr]: {}", e.message()),
                hint: "keys: dir, repo_path, stanza, retention_full".into(),
            })
    }

    pub fn root(&self, project: &Project) -> PathBuf {
        project.root.join(&self.dir)
    }

    pub fn repo(&self, project: &Project) -> PathBuf {
        match &self.repo_path {
            Some(p) => project.root.join(p),
            None => self.root(project).join("repo"),
        }
    }

    pub fn stanza(&self, environment: &str) -> String {
        self.stanza.clone().unwrap_or_else(|| {
            environment
                .chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                        c
                    } else {
                        '_'
                    }
                })
                .collect()
        })
    }

    /// The stanza's config file, written by `pitr setup`.
    pub fn config_file(&self, project: &Project, stanza: &str) -> PathBuf {
        self.root(project).join(format!("pgbackrest-{stanza}.conf"))
    }
}
