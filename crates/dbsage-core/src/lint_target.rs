//! The PostgreSQL major version the linter judges migrations against (`requires-newer-postgres`
//! and the rules whose verdict depends on the version).
//!
//! A stand-in for the project-wide resolver of issue 16 (`pg_version.rs`): [`target_major`] is
//! the one function to swap for it. Order: `DBSAGE_PG_VERSION`, `[local] pg_version` in
//! dbsage.toml, `[db] major_version` in supabase/config.toml, else the newest server installed.

use crate::config::Project;
use crate::error::{Error, Result};

/// The target major version, or `None` when nothing names one and no server is installed (then
/// the linter reports no version finding).
pub fn target_major(project: &Project) -> Result<Option<u32>> {
    if let Ok(value) = std::env::var("DBSAGE_PG_VERSION") {
        return major_of(&value).map(Some).ok_or_else(|| Error::Config {
            message: format!("DBSAGE_PG_VERSION={value:?} is not a PostgreSQL version"),
            hint: "set a major version such as 15 or 17 (or unset it)".into(),
        });
    }
    if let Some(major) = project.config.local.pg_version {
        return Ok(Some(major));
    }
    if let Some(major) = supabase_major_version(project)? {
        return Ok(Some(major));
    }
    Ok(dbsage_cluster::PgInstall::installed()
        .iter()
        .map(|i| i.major)
        .max())
}

/// `17`, `17.2` or `15.18` → the major version.
fn major_of(value: &str) -> Option<u32> {
    let major = value.trim().split('.').next()?.parse::<u32>().ok()?;
    (major >= 9).then_some(major)
}

/// `[db] major_version` of supabase/config.toml (what `supabase start` and new hosted projects
/// run); `None` without the file or the key.
fn supabase_major_version(project: &Project) -> Result<Option<u32>> {
    let path = project.root.join("supabase").join("config.toml");
    let Ok(text) = std::fs::read_to_string(&path) else {
        return Ok(None);
    };
    let invalid = |why: String| Error::Config {
        message: format!("{}: {why}", path.display()),
        hint: "fix supabase/config.toml (the Supabase CLI reads it too)".into(),
    };
    let config: toml::Table = toml::from_str(&text).map_err(|e| invalid(e.message().into()))?;
    match config.get("db").and_then(|db| db.get("major_version")) {
        None => Ok(None),
        Some(value) => value
            .as_integer()
            .and_then(|v| u32::try_from(v).ok())
            .map(Some)
            .ok_or_else(|| invalid("[db] major_version must be a number such as 17".into())),
    }
}

#[cfg(test)]
mod tests {
    use super::major_of;

    #[test]
    fn majors() {
        assert_eq!(major_of("17"), Some(17));
        assert_eq!(major_of(" 15.18 "), Some(15));
        assert_eq!(major_of("seventeen"), None);
        assert_eq!(major_of("7"), None);
    }
}
