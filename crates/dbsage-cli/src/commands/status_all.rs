//! `status --all`: every configured environment in one table. An environment that cannot be
//! reached is a row saying so, not the end of the command.

use comfy_table::{presets::UTF8_FULL_CONDENSED, Table};
use serde_json::json;

use dbsage_core::config::Project;
use dbsage_core::env::Target;
use dbsage_core::migrate::{self, State, StatusEntry};
use dbsage_core::migrations::MigrationFile;

use crate::output::{Out, Style};

/// One environment's row.
struct Row {
    name: String,
    database: String,
    /// `server_version` of the environment's server, when reached.
    server_version: Option<String>,
    result: Result<Vec<StatusEntry>, String>,
}

/// The configured environments, then the default one when it is not among them (`dev`).
fn environment_names(project: &Project) -> Vec<String> {
    let mut names: Vec<String> = project.config.environments.keys().cloned().collect();
    let default = &project.config.migrate.default_environment;
    if !names.contains(default) {
        names.push(default.clone());
    }
    names
}

fn read(project: &Project, files: &[MigrationFile], name: &str) -> Row {
    let target = match Target::resolve(project, Some(name)) {
        Ok(t) => t,
        Err(e) => {
            return Row {
                name: name.into(),
                database: String::new(),
                server_version: None,
                result: Err(e.to_string()),
            }
        }
    };
    let mut server_version = None;
    let result = target
        .connect(project, "dbsage status --all")
        .and_then(|mut client| {
            server_version = client
                .query_one("select current_setting('server_version')", &[])
                .ok()
                .map(|row| row.get(0));
            migrate::status(&mut client, project, files)
        })
        .map_err(|e| e.to_string());
    Row {
        name: target.name,
        database: target.display,
        server_version,
        result,
    }
}

fn count(entries: &[StatusEntry], state: State) -> usize {
    entries.iter().filter(|e| e.state == state).count()
}

const COUNTED: [(State, &str); 5] = [
    (State::Applied, "applied"),
    (State::Pending, "pending"),
    (State::Modified, "modified"),
    (State::Missing, "missing"),
    (State::Partial, "partial"),
];

pub fn run(project: &Project, files: &[MigrationFile], out: &Out) -> i32 {
    let rows: Vec<Row> = environment_names(project)
        .iter()
        .map(|name| read(project, files, name))
        .collect();
    let inconsistent = rows.iter().any(|r| {
        r.result.as_ref().is_ok_and(|entries| {
            entries
                .iter()
                .any(|e| matches!(e.state, State::Modified | State::Missing | State::Partial))
        })
    });
    // After the connections: each recorded its server's version, which `differing` compares.
    let local = super::status::local_version(project);
    if out.json_mode() {
        let environments: Vec<_> = rows
            .iter()
            .map(|r| match &r.result {
                Ok(entries) => {
                    let mut counts = serde_json::Map::new();
                    for (state, word) in COUNTED {
                        counts.insert(word.into(), json!(count(entries, state)));
                    }
                    json!({
                        "name": r.name, "database": r.database, "reachable": true,
                        "server_version": r.server_version,
                        "counts": counts, "newest_applied": newest_applied(entries),
                    })
                }
                Err(e) => json!({
                    "name": r.name, "database": r.database, "reachable": false, "error": e,
                }),
            })
            .collect();
        let mut value = json!({ "environments": environments });
        if let Some((t, install, differing)) = &local {
            value["local_pg_version"] =
                super::pg_version::json(t, install.as_ref().map(|i| i.version.as_str()));
            value["environments_differing"] = super::pg_version::differing_json(differing);
        }
        out.json(&value);
    } else {
        let mut table = Table::new();
        let mut header = vec!["environment", "database", "postgres"];
        header.extend(COUNTED.iter().map(|(_, word)| *word));
        header.push("newest applied");
        table.load_preset(UTF8_FULL_CONDENSED).set_header(header);
        for r in &rows {
            let mut cells = vec![
                r.name.clone(),
                r.database.clone(),
                r.server_version.clone().unwrap_or_default(),
            ];
            match &r.result {
                Ok(entries) => {
                    cells.extend(
                        COUNTED
                            .iter()
                            .map(|(state, _)| count(entries, *state).to_string()),
                    );
                    cells.push(newest_applied(entries).unwrap_or_default());
                }
                Err(e) => {
                    cells.push(out.paint("unreachable", Style::Bad));
                    cells.push(first_line(e));
                }
            }
            table.add_row(cells);
        }
        out.line(&table.to_string());
        if let Some((t, install, differing)) = &local {
            out.line(&super::pg_version::line_or_missing(t, install.as_ref()));
            super::pg_version::warn_differing(out, differing, t);
        }
    }
    if inconsistent {
        1
    } else {
        0
    }
}

fn newest_applied(entries: &[StatusEntry]) -> Option<String> {
    entries
        .iter()
        .filter(|e| e.state != State::Pending && e.applied_at.is_some())
        .map(|e| e.version.clone())
        .max()
}

fn first_line(text: &str) -> String {
    text.lines().next().unwrap_or_default().to_string()
}
