//! `config --check` inside the workflow sections (`[lint]`, `[backup]`, `[health]`, …), which
//! dbsage.toml keeps raw for each workflow to read. Each section goes through the loader its
//! workflow uses, so a misspelt key is reported by `--check` with the same message the workflow
//! would give, instead of being found (or silently ignored) when that workflow first runs.

use dbsage_core::config::{Project, WORKFLOW_SECTIONS};
use dbsage_core::Error;

/// The errors of the workflow sections present in dbsage.toml, each with its section's name.
pub fn errors(project: &Project) -> Vec<(&'static str, Error)> {
    WORKFLOW_SECTIONS
        .iter()
        .filter(|section| project.config.other.contains_key(**section))
        .filter_map(|section| load(project, section).err().map(|e| (*section, e)))
        .collect()
}

/// Reads one section the way its workflow does.
fn load(project: &Project, section: &str) -> dbsage_core::Result<()> {
    match section {
        "lint" => dbsage_core::lint::config(project).map(drop),
        "backup" => dbsage_backup::config::BackupConfig::of(project).map(drop),
        "pitr" => dbsage_backup::pitr::config::PitrConfig::of(project).map(drop),
        "deploy" => dbsage_deploy::config::DeployConfig::of(project).map(drop),
        "maintain" => super::tune::maintain_config(project).map(drop),
        "alerts" => super::health::webhook(project).map(drop),
        "health" => {
            dbsage_tune::health::HealthConfig::from_toml(project.config.other.get("health"))
                .map(drop)
                .map_err(|message| Error::Config {
                    message: format!("dbsage.toml [health]: {message}"),
                    hint: "see `dbsage health --help` for the keys".into(),
                })
        }
        "supabase" => only_keys(project, "supabase", &[("enabled", BOOLEAN)]),
        // Read by no workflow yet: any key in it would be ignored.
        "secure" => only_keys(project, "secure", &[]),
        other => Err(Error::Config {
            message: format!("dbsage.toml [{other}]: no workflow reads this section"),
            hint: "remove it".into(),
        }),
    }
}

/// A key's type: what it is called in messages, and the test of a value.
type KeyType = (&'static str, fn(&toml::Value) -> bool);

const BOOLEAN: KeyType = ("true or false", toml::Value::is_bool);

/// A section whose keys are few and checked here: each known key with the type it takes.
fn only_keys(
    project: &Project,
    section: &str,
    known: &[(&str, KeyType)],
) -> dbsage_core::Result<()> {
    let bad = |message: String| Error::Config {
        message: format!("dbsage.toml [{section}]: {message}"),
        hint: match known {
            [] => format!("[{section}] takes no keys yet: remove them"),
            _ => format!(
                "[{section}] takes {}",
                known
                    .iter()
                    .map(|(k, (t, _))| format!("`{k}` ({t})"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        },
    };
    let Some(table) = project.config.other.get(section).and_then(|v| v.as_table()) else {
        return Err(bad("must be a table".into()));
    };
    for (key, value) in table {
        match known.iter().find(|(k, _)| k == key) {
            None => return Err(bad(format!("unknown key `{key}`"))),
            Some((_, (kind, is))) if !is(value) => {
                return Err(bad(format!("`{key}` must be {kind}")))
            }
            Some(_) => {}
        }
    }
    Ok(())
}
