//! How `status`, `migrate --local` and `dev status` show the PostgreSQL version local clusters
//! run, and environments known to run another one.

use serde_json::{json, Value};

use dbsage_cluster::PgInstall;
use dbsage_core::pg_version::{self, KnownVersion, TargetVersion};

use crate::output::Out;

/// "local PostgreSQL 17.10 (major version from dbsage.toml [local] pg_version)".
pub fn line(target: &TargetVersion, install: &PgInstall) -> String {
    format!(
        "local PostgreSQL {} (major version from {})",
        install.version, target.source
    )
}

/// `local_pg_version` in JSON reports; `version` is null when the wanted major is not installed.
pub fn json(target: &TargetVersion, version: Option<&str>) -> Value {
    json!({
        "major": target.major,
        "version": version,
        "from": target.source.to_string(),
        "source": target.source,
    })
}

/// `environments_differing` in JSON reports.
pub fn differing_json(differing: &[(String, KnownVersion)]) -> Value {
    Value::Array(
        differing
            .iter()
            .map(|(name, k)| {
                json!({
                    "environment": name,
                    "server_version_num": k.server_version_num,
                    "major": k.major(),
                    "reached_at": k.reached_at,
                })
            })
            .collect(),
    )
}

/// The line for a target version that may not be installed (`status` shows it either way).
pub fn line_or_missing(target: &TargetVersion, install: Option<&PgInstall>) -> String {
    match install {
        Some(install) => line(target, install),
        None => format!(
            "local PostgreSQL {}: not installed (`dbsage pg install {}` installs it)",
            target.describe(),
            target.major
        ),
    }
}

/// One warning per environment last seen on another major version.
pub fn warn_differing(out: &Out, differing: &[(String, KnownVersion)], target: &TargetVersion) {
    for (name, known) in differing {
        out.warn(&pg_version::mismatch_warning(name, known, target));
    }
}
