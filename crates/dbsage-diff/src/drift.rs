//! Drift: the live schema of an environment against its migration history replayed on a
//! throwaway cluster. `deploy`'s preflight calls [`check`].

use dbsage_catalog::{diff, Catalog, Difference};
use dbsage_core::config::Project;
use dbsage_core::migrations::MigrationFile;
use dbsage_core::{Error, Result};
use serde::Serialize;

use crate::{plan, Plan, PlanOptions};

/// What differs, and the SQL that reconciles each way.
#[derive(Debug, Clone, Serialize)]
pub struct DriftReport {
    /// Objects that differ (`before` = the history, `after` = live).
    pub differences: Vec<Difference>,
    /// Brings the live database back to what the history says.
    pub to_history: Plan,
    /// Records the live changes as a migration (what to add to the history).
    pub to_live: Plan,
}

impl DriftReport {
    pub fn has_drift(&self) -> bool {
        !self.differences.is_empty()
    }
}

/// Compares `live` with `files` replayed on a throwaway cluster. Supabase-managed schemas and
/// dbsage's bookkeeping are left out.
pub fn check(
    project: &Project,
    files: &[MigrationFile],
    live: &mut postgres::Client,
) -> Result<DriftReport> {
    let options = crate::sides::read_options(project);
    let live_schema =
        Catalog::read(live, &options).map_err(|e| Error::db("reading the live schema", e))?;
    let (cluster, mut client) = dbsage_core::local::replayed(project, files)?;
    let history = Catalog::read(&mut client, &options);
    drop(client);
    cluster.stop();
    let mut history = history.map_err(|e| Error::db("reading the replayed history's schema", e))?;
    let mut live_schema = live_schema;
    crate::sides::align_managed_publications(project, &mut history, &mut live_schema);
    let creator = PlanOptions::default();
    Ok(DriftReport {
        differences: diff(&history, &live_schema),
        to_history: plan(&live_schema, &history, &creator),
        to_live: plan(&history, &live_schema, &creator),
    })
}

/// [`check`] against the files `live` has applied: a pending migration is work to do, not
/// drift. What `dbsage drift` and `deploy`'s preflight judge.
pub fn check_applied(
    project: &Project,
    files: &[MigrationFile],
    live: &mut postgres::Client,
) -> Result<DriftReport> {
    let entries = dbsage_core::migrate::status(live, project, files)?;
    let applied: Vec<MigrationFile> = files
        .iter()
        .filter(|f| {
            entries
                .iter()
                .any(|e| e.version == f.version && e.state != dbsage_core::migrate::State::Pending)
        })
        .cloned()
        .collect();
    check(project, &applied, live)
}
