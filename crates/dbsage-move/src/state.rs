//! An in-progress replication move, kept in `.dbsage/moves/<from>-to-<to>.json` (written
//! atomically) so that `move status` and `move cutover` find it. No secrets: environment names
//! only, the connections come from dbsage.toml.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use dbsage_core::config::Project;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MoveState {
    pub from: String,
    pub to: String,
    pub method: crate::Method,
    /// The publication on the source and the subscription (and its slot) on the target.
    pub publication: String,
    pub subscription: String,
    pub tables: Vec<String>,
    pub started_at: String,
    /// `replicating`, then `cut-over` (`move abort` removes the file).
    pub phase: String,
    pub cut_over_at: Option<String>,
}

pub fn dir(project: &Project) -> PathBuf {
    project.state_dir().join("moves")
}

pub fn path(project: &Project, from: &str, to: &str) -> PathBuf {
    dir(project).join(format!("{from}-to-{to}.json"))
}

pub fn now() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

pub fn save(project: &Project, state: &MoveState) -> dbsage_core::Result<()> {
    let dir = dir(project);
    std::fs::create_dir_all(&dir)
        .map_err(|e| dbsage_core::Error::io(format!("creating {}", dir.display()), e))?;
    let text = serde_json::to_string_pretty(state).expect("a move state serialises") + "\n";
    dbsage_core::project_file::write(&path(project, &state.from, &state.to), &text)
}

pub fn load(project: &Project, from: &str, to: &str) -> dbsage_core::Result<Option<MoveState>> {
    let path = path(project, from, to);
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(dbsage_core::Error::io(
                format!("reading {}", path.display()),
                e,
            ))
        }
    };
    serde_json::from_str(&text).map(Some).map_err(|e| {
        crate::config_error(
            format!("{} is not a move state dbsage can read: {e}", path.display()),
            "restore it from version control or delete it (the publication and subscription stay on the servers: drop them by hand)",
        )
    })
}

/// The move `from`/`to` name, or the only one in progress when neither is given.
pub fn find(
    project: &Project,
    from: Option<&str>,
    to: Option<&str>,
) -> dbsage_core::Result<MoveState> {
    if let (Some(from), Some(to)) = (from, to) {
        return load(project, from, to)?.ok_or_else(|| {
            crate::config_error(
                format!("no replication move from `{from}` to `{to}` is in progress"),
                format!("start one: `dbsage move --from {from} --to {to} --method replicate`"),
            )
        });
    }
    let mut all: Vec<MoveState> = Vec::new();
    for entry in std::fs::read_dir(dir(project))
        .into_iter()
        .flatten()
        .flatten()
    {
        let text = std::fs::read_to_string(entry.path()).unwrap_or_default();
        if let Ok(state) = serde_json::from_str::<MoveState>(&text) {
            let matches = from.is_none_or(|f| f == state.from) && to.is_none_or(|t| t == state.to);
            if matches {
                all.push(state);
            }
        }
    }
    all.sort_by_key(|s| s.phase == "cut-over");
    match all.len() {
        0 => Err(crate::config_error(
            "no replication move is in progress",
            "start one: `dbsage move --from SOURCE --to TARGET --method replicate`",
        )),
        1 => Ok(all.remove(0)),
        _ if all[0].phase != "cut-over" && all[1].phase == "cut-over" => Ok(all.remove(0)),
        _ => Err(crate::config_error(
            format!(
                "several moves are recorded: {}",
                all.iter()
                    .map(|s| format!("{} → {} ({})", s.from, s.to, s.phase))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            "name one with --from and --to",
        )),
    }
}
