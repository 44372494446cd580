//! `dbsage pull`: a database with no migrations yet gets a baseline migration that recreates
//! its live schema (the engine's plan from an empty database), proven twice — built on a
//! throwaway copy, then the written files replayed like any history — and recorded as applied
//! on that environment through `repair --mark-applied`'s audited path.

use std::path::PathBuf;

use dbsage_catalog::{diff, Catalog, Difference};
use dbsage_core::config::Project;
use dbsage_core::{Error, Result};
use serde::Serialize;

use crate::sides::{read_options, rebuild};
use crate::Plan;

/// What `pull` did.
#[derive(Debug, Clone, Serialize)]
pub struct PullReport {
    pub plan: Plan,
    /// The files written (none when something is not handled).
    pub written: Vec<PathBuf>,
    /// What the baseline does not recreate; the files are not written when any.
    pub not_handled: Vec<Difference>,
}

/// Writes the baseline of the live schema of `live` as migration(s) named `name`, proves it,
/// and records it as applied on `live`.
pub fn pull(project: &Project, live: &mut postgres::Client, name: &str) -> Result<PullReport> {
    let existing = dbsage_core::migrations::discover_project(project)?;
    if !existing.is_empty() {
        return Err(Error::Config {
            message: format!(
                "{} already holds {} migration(s): pull writes the first one, for a database with no migrations yet",
                project.migrations_dir().display(),
                existing.len()
            ),
            hint: "compare a database with the history instead: `dbsage drift --env ENV`, or `dbsage diff --from migrations --to ENV`".into(),
        });
    }
    let options = read_options(project);
    let schema =
        Catalog::read(live, &options).map_err(|e| Error::db("reading the live schema", e))?;
    let (copy, plan, not_handled) = rebuild(project, &schema, &options)?;
    copy.close();
    if !not_handled.is_empty() {
        return Ok(PullReport {
            plan,
            written: Vec::new(),
            not_handled,
        });
    }
    let written = write_migrations(
        project,
        name,
        "-- Baseline written by `dbsage pull`: the live schema, proven by replay.\n",
        &roles_prelude(&schema),
        &plan,
    )?;
    // Second proof: the files as `migrate` runs them, on a fresh throwaway cluster.
    let files = dbsage_core::migrations::discover_project(project)?;
    let replayed = (|| {
        let (cluster, mut client) = dbsage_core::local::replayed(project, &files)?;
        let result = Catalog::read(&mut client, &options);
        drop(client);
        cluster.stop();
        result.map_err(|e| Error::db("reading the replayed baseline", e))
    })();
    let left = match replayed {
        Ok(replayed) => diff(&replayed, &schema),
        Err(e) => {
            remove(&written);
            return Err(e);
        }
    };
    if !left.is_empty() {
        remove(&written);
        return Ok(PullReport {
            plan,
            written: Vec::new(),
            not_handled: left,
        });
    }
    for file in &files {
        dbsage_core::mark_applied::mark_applied(
            live,
            project,
            &files,
            &file.version,
            "dbsage pull: baseline of the live schema, proven by replay",
        )?;
    }
    Ok(PullReport {
        plan,
        written,
        not_handled: Vec::new(),
    })
}

/// Roles live outside the database: the baseline creates the ones it names, if missing, so
/// that it replays on a fresh cluster.
fn roles_prelude(schema: &Catalog) -> String {
    let mut sql = String::new();
    for role in crate::sides::roles_named(&[schema]) {
        if role == "postgres" || role.starts_with("pg_") {
            continue;
        }
        sql.push_str(&format!(
            "DO $$ BEGIN CREATE ROLE {} NOLOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END $$;\n",
            crate::sql::ident(&role)
        ));
    }
    sql
}

/// `<ts>_NAME.sql` (`prelude` then the transactional part) and, when the plan has one,
/// `<ts+1>_NAME_no_transaction.sql` starting with `-- dbsage:no-transaction`. Each starts
/// with `header` (a comment line).
pub fn write_migrations(
    project: &Project,
    name: &str,
    header: &str,
    prelude: &str,
    plan: &Plan,
) -> Result<Vec<PathBuf>> {
    let dir = project.migrations_dir();
    let mut written = vec![
        dbsage_core::migrations::create(
            &dir,
            name,
            false,
            &format!("{header}{prelude}{}", plan.transactional_sql()),
        )?
        .0,
    ];
    let after = plan.no_transaction_sql();
    if !after.is_empty() {
        written.push(
            dbsage_core::migrations::create(
                &dir,
                &format!("{name}_no_transaction"),
                false,
                &format!("-- dbsage:no-transaction\n{header}{after}"),
            )?
            .0,
        );
    }
    Ok(written)
}

fn remove(paths: &[PathBuf]) {
    for path in paths {
        let _ = std::fs::remove_file(path);
    }
}
