//! The `[health]` table of dbsage.toml: one sub-table per check, each with its own thresholds
//! (defaults documented on each check's config). Unknown keys are errors, so a misspelt
//! threshold is never silently ignored.
//!
//! ```toml
//! [health.long_running]
//! warning_seconds = 30
//! critical_seconds = 120
//! ```

use serde::Deserialize;

use super::{
    archiving, blocking, cache_hit, connections, database_size, dead_tuples, invalid_indexes,
    replication_lag, replication_slots, sequences, vacuum_age, wraparound,
};

/// How long a session may stay in a state before a warning and before critical: the shape of
/// `idle_in_transaction` and `long_running` (defaults 60 s and 5 min; the reasons are on each
/// check).
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SecondsThresholds {
    pub warning_seconds: f64,
    pub critical_seconds: f64,
}

impl Default for SecondsThresholds {
    fn default() -> Self {
        SecondsThresholds {
            warning_seconds: 60.0,
            critical_seconds: 300.0,
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HealthConfig {
    pub connections: connections::Config,
    pub idle_in_transaction: SecondsThresholds,
    pub long_running: SecondsThresholds,
    pub blocking: blocking::Config,
    pub cache_hit: cache_hit::Config,
    pub database_size: database_size::Config,
    pub wraparound: wraparound::Config,
    pub sequences: sequences::Config,
    pub replication_lag: replication_lag::Config,
    pub replication_slots: replication_slots::Config,
    pub archiving: archiving::Config,
    pub dead_tuples: dead_tuples::Config,
    pub vacuum_age: vacuum_age::Config,
    pub invalid_indexes: invalid_indexes::Config,
}

impl HealthConfig {
    /// Reads the `[health]` table (absent: every default). The error names the key at fault.
    pub fn from_toml(value: Option<&toml::Value>) -> Result<HealthConfig, String> {
        let Some(value) = value else {
            return Ok(HealthConfig::default());
        };
        let config: HealthConfig = value
            .clone()
            .try_into()
            .map_err(|e: toml::de::Error| format!("[health]: {}", e.message()))?;
        config.validate()?;
        Ok(config)
    }

    fn validate(&self) -> Result<(), String> {
        let pairs: [(&str, f64, f64, bool); 11] = [
            (
                "connections",
                self.connections.warning_percent,
                self.connections.critical_percent,
                true,
            ),
            (
                "idle_in_transaction",
                self.idle_in_transaction.warning_seconds,
                self.idle_in_transaction.critical_seconds,
                true,
            ),
            (
                "long_running",
                self.long_running.warning_seconds,
                self.long_running.critical_seconds,
                true,
            ),
            (
                "blocking",
                self.blocking.warning_seconds,
                self.blocking.critical_seconds,
                true,
            ),
            (
                "cache_hit",
                self.cache_hit.warning_ratio,
                self.cache_hit.critical_ratio,
                false,
            ),
            (
                "wraparound",
                self.wraparound.warning_percent,
                self.wraparound.critical_percent,
                true,
            ),
            (
                "sequences",
                self.sequences.warning_percent,
                self.sequences.critical_percent,
                true,
            ),
            (
                "replication_lag",
                self.replication_lag.warning_bytes,
                self.replication_lag.critical_bytes,
                true,
            ),
            (
                "dead_tuples",
                self.dead_tuples.warning_percent,
                self.dead_tuples.critical_percent,
                true,
            ),
            (
                "vacuum_age",
                self.vacuum_age.warning_seconds,
                self.vacuum_age.critical_seconds,
                true,
            ),
            (
                "archiving",
                self.archiving.warning_ready,
                self.archiving.critical_ready,
                true,
            ),
        ];
        for (check, warning, critical, more_is_worse) in pairs {
            let ordered = if more_is_worse {
                warning <= critical
            } else {
                warning >= critical
            };
            if !ordered || warning < 0.0 || critical < 0.0 {
                return Err(format!(
                    "[health.{check}]: the warning threshold ({warning}) must be {} the critical one ({critical}), both ≥ 0",
                    if more_is_worse { "≤" } else { "≥" }
                ));
            }
        }
        Ok(())
    }
}
