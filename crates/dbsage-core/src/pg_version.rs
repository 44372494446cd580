//! Which PostgreSQL major version the project's local clusters (throwaway and dev) run, and
//! where that choice comes from: a migration tested on another major version than production
//! proves little.
//!
//! In order: `DBSAGE_PG_VERSION`, `[local] pg_version` in `dbsage.toml`, `[db] major_version`
//! in `supabase/config.toml`, the version of the default protected environment when dbsage last
//! reached it (remembered in `.dbsage/server_versions.json`), else the installed server
//! ([`PgInstall::find_major`] with `None`: `DBSAGE_PG_BIN`, then the newest system version,
//! then dbsage's cache).

use std::collections::BTreeMap;
use std::fmt;

use dbsage_cluster::{ClusterError, DevCluster, PgInstall};
use postgres::Client;
use serde::{Deserialize, Serialize};

use crate::config::Project;
use crate::error::{Error, Result};

/// The environment variable that overrides every other source.
pub const ENV_VAR: &str = "DBSAGE_PG_VERSION";
/// Under `.dbsage/`: the server version of each environment when dbsage last reached it.
pub const KNOWN_VERSIONS_FILE: &str = "server_versions.json";

/// Where the target major version came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum VersionSource {
    /// `DBSAGE_PG_VERSION`.
    EnvVar,
    /// `[local] pg_version` in `dbsage.toml`.
    Config,
    /// `[db] major_version` in `supabase/config.toml`.
    Supabase,
    /// The default protected environment, as last reached.
    Environment { name: String, reached_at: String },
    /// Nothing asked for a version: the installed server.
    Installed { version: String },
}

impl fmt::Display for VersionSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            VersionSource::EnvVar => write!(f, "{ENV_VAR}"),
            VersionSource::Config => write!(f, "dbsage.toml [local] pg_version"),
            VersionSource::Supabase => write!(f, "supabase/config.toml [db] major_version"),
            VersionSource::Environment { name, reached_at } => {
                write!(f, "environment {name}, last reached {reached_at}")
            }
            VersionSource::Installed { version } => {
                write!(
                    f,
                    "no version asked for: the installed PostgreSQL {version}"
                )
            }
        }
    }
}

/// The major version local clusters run, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TargetVersion {
    pub major: u32,
    pub source: VersionSource,
}

impl TargetVersion {
    /// "17 (from dbsage.toml [local] pg_version)", for messages.
    pub fn describe(&self) -> String {
        format!("{} (from {})", self.major, self.source)
    }
}

/// What `.dbsage/server_versions.json` records for one environment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KnownVersion {
    /// `server_version_num`, e.g. 170004.
    pub server_version_num: u32,
    /// Protected by `protected = true` or by its mark, when last reached.
    pub protected: bool,
    /// RFC 3339, UTC, microseconds.
    pub reached_at: String,
}

impl KnownVersion {
    pub fn major(&self) -> u32 {
        self.server_version_num / 10000
    }
}

/// The target version of `project`, reading `DBSAGE_PG_VERSION` from the process environment.
pub fn resolve(project: &Project) -> Result<TargetVersion> {
    resolve_with(project, std::env::var(ENV_VAR).ok().as_deref())
}

/// The target version of `project`, with `env_value` standing for `DBSAGE_PG_VERSION`.
pub fn resolve_with(project: &Project, env_value: Option<&str>) -> Result<TargetVersion> {
    if let Some(value) = env_value.map(str::trim).filter(|v| !v.is_empty()) {
        let major = parse_major(value).ok_or_else(|| Error::Config {
            message: format!("{ENV_VAR}={value} is not a PostgreSQL major version"),
            hint: format!("set a major version such as {ENV_VAR}=17, or unset it"),
        })?;
        return Ok(target(major, VersionSource::EnvVar));
    }
    if let Some(major) = project.config.local.pg_version {
        return Ok(target(major, VersionSource::Config));
    }
    if let Some(major) = supabase_major(project)? {
        return Ok(target(major, VersionSource::Supabase));
    }
    if let Some((name, known)) = default_protected(project) {
        return Ok(target(
            known.major(),
            VersionSource::Environment {
                name,
                reached_at: known.reached_at,
            },
        ));
    }
    let installed = PgInstall::find_major(None)?;
    Ok(target(
        installed.major,
        VersionSource::Installed {
            version: installed.version,
        },
    ))
}

fn target(major: u32, source: VersionSource) -> TargetVersion {
    TargetVersion { major, source }
}

/// `17` or `17.2` → 17.
fn parse_major(value: &str) -> Option<u32> {
    value.split('.').next()?.parse().ok().filter(|m| *m >= 10)
}

/// `[db] major_version` of `supabase/config.toml`, when the file sets it.
fn supabase_major(project: &Project) -> Result<Option<u32>> {
    let path = project.root.join("supabase").join("config.toml");
    let Ok(text) = std::fs::read_to_string(&path) else {
        return Ok(None);
    };
    let config: toml::Table = toml::from_str(&text).map_err(|e| Error::Config {
        message: format!("{}: {}", path.display(), e.message()),
        hint: "fix supabase/config.toml, which the Supabase CLI reads too".into(),
    })?;
    let Some(value) = config.get("db").and_then(|db| db.get("major_version")) else {
        return Ok(None);
    };
    value
        .as_integer()
        .and_then(|m| u32::try_from(m).ok())
        .filter(|m| *m >= 10)
        .map(Some)
        .ok_or_else(|| Error::Config {
            message: format!(
                "{}: [db] major_version must be a PostgreSQL major version such as 17, not {value}",
                path.display()
            ),
            hint: "fix supabase/config.toml, which the Supabase CLI reads too".into(),
        })
}

/// The default environment when it was protected last time dbsage reached it (or is
/// `protected = true`), else the protected environment reached most recently.
fn default_protected(project: &Project) -> Option<(String, KnownVersion)> {
    let known = known_versions(project);
    let is_protected = |name: &str, k: &KnownVersion| {
        k.protected
            || project
                .config
                .environments
                .get(name)
                .is_some_and(|e| e.protected)
    };
    let default = &project.config.migrate.default_environment;
    if let Some(k) = known.get(default).filter(|k| is_protected(default, k)) {
        return Some((default.clone(), k.clone()));
    }
    known
        .into_iter()
        .filter(|(name, k)| is_protected(name, k))
        .max_by(|a, b| a.1.reached_at.cmp(&b.1.reached_at))
}

/// Every environment's version as last reached (empty when nothing was recorded or the file
/// cannot be read: it is a cache, never a reason to fail).
pub fn known_versions(project: &Project) -> BTreeMap<String, KnownVersion> {
    std::fs::read_to_string(project.state_dir().join(KNOWN_VERSIONS_FILE))
        .ok()
        .and_then(|text| serde_json::from_str(&text).ok())
        .unwrap_or_default()
}

/// Records the server version of environment `name` just reached through `client`. Failures
/// are ignored: the connection matters, the record is a convenience.
pub fn remember(project: &Project, name: &str, client: &mut Client, protected: bool) {
    let Ok(row) = client.query_one("select current_setting('server_version_num')::int", &[]) else {
        return;
    };
    let Ok(num) = u32::try_from(row.get::<_, i32>(0)) else {
        return;
    };
    let mut known = known_versions(project);
    // Fixed width, so that comparing the texts compares the times.
    let reached_at = time::OffsetDateTime::now_utc()
        .format(time::macros::format_description!(
            "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6]Z"
        ))
        .unwrap_or_default();
    known.insert(
        name.to_string(),
        KnownVersion {
            server_version_num: num,
            protected,
            reached_at,
        },
    );
    if let Ok(text) = serde_json::to_string_pretty(&known) {
        let _ = project.write_state_file(KNOWN_VERSIONS_FILE, &text);
    }
}

/// The environments whose last known major version differs from `major`, for warnings.
pub fn differing(project: &Project, major: u32) -> Vec<(String, KnownVersion)> {
    known_versions(project)
        .into_iter()
        .filter(|(_, k)| k.major() != major)
        .collect()
}

/// "environment production runs PostgreSQL 17 (last reached …); local clusters run 15 (from …)".
pub fn mismatch_warning(name: &str, known: &KnownVersion, local: &TargetVersion) -> String {
    format!(
        "environment {name} runs PostgreSQL {} (last reached {}), and local clusters run PostgreSQL {}: a migration tested here proves less there; set [local] pg_version = {} in dbsage.toml (or {ENV_VAR})",
        known.major(),
        known.reached_at,
        local.describe(),
        known.major()
    )
}

/// The server installation for `target`: a missing version is [`ClusterError::WrongVersion`]
/// (naming `dbsage pg install N`), saying where the wanted version came from.
pub fn install(target: &TargetVersion) -> Result<PgInstall> {
    PgInstall::find_major(Some(target.major)).map_err(|e| with_source(e, target))
}

/// The project's dev cluster, on the target version.
pub fn open_dev(project: &Project) -> Result<DevCluster> {
    open_dev_for(project, &resolve(project)?)
}

/// The project's dev cluster, on `target`'s version.
pub fn open_dev_for(project: &Project, target: &TargetVersion) -> Result<DevCluster> {
    DevCluster::open_major(&project.root, Some(target.major)).map_err(|e| with_source(e, target))
}

fn with_source(e: ClusterError, target: &TargetVersion) -> Error {
    match e {
        ClusterError::WrongVersion { wanted, found } => {
            Error::Cluster(ClusterError::WrongVersion {
                wanted,
                found: format!("{found}; PostgreSQL {wanted} comes from {}", target.source),
            })
        }
        other => Error::Cluster(other),
    }
}
