//! `[deploy]` in dbsage.toml: how the pipeline waits, retries and recovers.

use std::path::PathBuf;
use std::time::Duration;

use dbsage_core::config::{parse_duration, Project};
use dbsage_core::{Error, Result};
use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DeployConfig {
    /// After a failed smoke test or post-check, undo the migrations just applied when every one
    /// has a down file.
    pub rollback_on_failure: bool,
    /// `lock_timeout` each migration runs under during a deploy (short: production traffic
    /// queues behind a DDL statement waiting for its lock).
    pub lock_timeout: String,
    /// How many times a migration that hit `lock_timeout` (55P03) is tried again.
    pub retries: u32,
    /// The first wait before a retry; doubled after each one.
    pub backoff: String,
    /// How long preflight waits for long-running transactions holding locks on the tables the
    /// pending migrations touch before it aborts.
    pub lock_wait: String,
    /// A transaction older than this holding such a lock counts as long-running.
    pub long_transaction: String,
    /// Smoke tests (policy-test TOML), relative to the project root.
    pub smoke_dir: PathBuf,
}

impl Default for DeployConfig {
    fn default() -> Self {
        DeployConfig {
            rollback_on_failure: false,
            lock_timeout: "5s".into(),
            retries: 3,
            backoff: "1s".into(),
            lock_wait: "30s".into(),
            long_transaction: "5s".into(),
            smoke_dir: PathBuf::from("tests/smoke"),
        }
    }
}

impl DeployConfig {
    pub fn of(project: &Project) -> Result<DeployConfig> {
        let config: DeployConfig = match project.config.other.get("deploy") {
            None => DeployConfig::default(),
            Some(value) => value.clone().try_into().map_err(|e: toml::de::Error| Error::Config {
                message: format!("dbsage.toml [deploy]: {}", e.message()),
                hint: "keys: rollback_on_failure, lock_timeout, retries, backoff, lock_wait, long_transaction, smoke_dir".into(),
            })?,
        };
        for (key, value) in [
            ("lock_timeout", &config.lock_timeout),
            ("backoff", &config.backoff),
            ("lock_wait", &config.lock_wait),
            ("long_transaction", &config.long_transaction),
        ] {
            if parse_duration(value).is_none() {
                return Err(Error::Config {
                    message: format!("dbsage.toml [deploy] {key} = \"{value}\" is not a duration"),
                    hint: "write it like 250ms, 5s, 2min or 1h".into(),
                });
            }
        }
        Ok(config)
    }

    pub fn backoff(&self) -> Duration {
        parse_duration(&self.backoff).unwrap_or_default()
    }

    pub fn lock_wait(&self) -> Duration {
        parse_duration(&self.lock_wait).unwrap_or_default()
    }

    pub fn long_transaction(&self) -> Duration {
        parse_duration(&self.long_transaction).unwrap_or_default()
    }
}
