//! Protection belongs to the database: a protected environment leaves a mark in the database
//! it writes to (`dbsage.protection`, beside the history table), and every command that writes
//! reads that mark after connecting, so the gates apply whatever name or URL reached it.

use postgres::Client;

use crate::config::{HistoryTable, Project};
use crate::env::Target;
use crate::error::{Error, Result};
use crate::history;

/// Why a database is protected, and under which name.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Protection {
    /// The name the database is protected under: what the typed confirmation asks for.
    pub name: String,
    /// Every environment name recorded in the database's mark, oldest first.
    pub marked_as: Vec<String>,
    /// The environment used for this run is configured `protected = true`.
    pub configured: bool,
}

impl Protection {
    /// "this database is protected as `production`", for messages.
    pub fn describe(&self) -> String {
        format!("this database is protected as `{}`", self.name)
    }
}

/// The effective protection of the database behind `client`: its mark, or the environment's
/// `protected = true`. `None` when neither says it is protected.
pub fn protection_of(
    client: &mut Client,
    project: &Project,
    target: &Target,
) -> Result<Option<Protection>> {
    let marked_as = read_marks(client, &project.history_table())?;
    if marked_as.is_empty() && !target.protected {
        return Ok(None);
    }
    // The name used for this run when the mark knows it (or nothing is marked yet); otherwise
    // the first name the database was protected under.
    let name = if marked_as.is_empty() || marked_as.contains(&target.name) {
        target.name.clone()
    } else {
        marked_as[0].clone()
    };
    Ok(Some(Protection {
        name,
        marked_as,
        configured: target.protected,
    }))
}

/// The environment names recorded in the mark, oldest first. The mark is read from the history
/// table's schema and from `dbsage`, so a project with another history schema still sees it.
fn read_marks(client: &mut Client, table: &HistoryTable) -> Result<Vec<String>> {
    let mut schemas = vec![table.schema.clone()];
    if table.schema != "dbsage" {
        schemas.push("dbsage".into());
    }
    let mut names: Vec<String> = Vec::new();
    for schema in schemas {
        let relation = protection_table(&schema);
        let exists: bool = client
            .query_one("select to_regclass($1) is not null", &[&relation])
            .map_err(|e| Error::db("reading the protection mark", e))?
            .get(0);
        if !exists {
            continue;
        }
        let rows = client
            .query(
                &format!("select environment from {relation} order by marked_at, environment"),
                &[],
            )
            .map_err(|e| Error::db("reading the protection mark", e))?;
        for row in rows {
            let name: String = row.get(0);
            if !names.contains(&name) {
                names.push(name);
            }
        }
    }
    Ok(names)
}

fn protection_table(schema: &str) -> String {
    format!("\"{schema}\".\"protection\"")
}

/// Records in the database that it is protected as `target`'s name, when the environment is
/// configured `protected = true` and the mark does not name it yet. Call before writing.
pub fn mark(client: &mut Client, project: &Project, target: &Target) -> Result<()> {
    if !target.protected {
        return Ok(());
    }
    let table = project.history_table();
    if read_marks(client, &table)?.contains(&target.name) {
        return Ok(());
    }
    let relation = protection_table(&table.schema);
    // Under the migration lock: concurrent `CREATE … IF NOT EXISTS` can collide.
    with_lock(client, project, |client| {
        client
            .batch_execute(&format!(
                "CREATE SCHEMA IF NOT EXISTS \"{schema}\";
                 CREATE TABLE IF NOT EXISTS {relation} (
                     environment text PRIMARY KEY,
                     marked_at   timestamptz NOT NULL DEFAULT now(),
                     marked_by   text NOT NULL
                 );
                 COMMENT ON TABLE {relation} IS 'dbsage: this database is protected. Every dbsage command that writes to it asks for the gates of a protected environment, whatever name or URL reached it.';",
                schema = table.schema,
            ))
            .map_err(|e| Error::db("creating the protection mark", e))?;
        client
            .execute(
                &format!(
                    "insert into {relation} (environment, marked_by) values ($1, $2) on conflict do nothing"
                ),
                &[&target.name, &history::actor()],
            )
            .map_err(|e| Error::db("recording the protection mark", e))?;
        Ok(())
    })
}

/// Appends an audit event for a write that passed the protected gates (import, the typed
/// confirmation), creating the history tables first when the database has none yet.
pub fn record_event(
    client: &mut Client,
    project: &Project,
    event: &str,
    reason: &str,
    details: serde_json::Value,
) -> Result<()> {
    let table = project.history_table();
    with_lock(client, project, |client| {
        history::ensure(client, &table)?;
        history::record_event(
            client,
            &table,
            None,
            None,
            event,
            Some(reason),
            Some(details),
        )
    })
}

fn with_lock<T>(
    client: &mut Client,
    project: &Project,
    work: impl FnOnce(&mut Client) -> Result<T>,
) -> Result<T> {
    let table = project.history_table();
    let wait = crate::migrate::Timeouts::from_project(project).lock_wait;
    history::acquire_lock(client, &table, wait, |_| {})?;
    let result = work(client);
    history::release_lock(client, &table);
    result
}
