//! The live schema matches the migration history: the target's catalog against a throwaway
//! replay of the migrations it has applied. One narrow function, to be switched to
//! `dbsage_diff::drift` once that crate lands.

use dbsage_catalog::{diff, Catalog, Difference, ReadOptions};
use dbsage_core::config::Project;
use dbsage_core::migrations::MigrationFile;
use postgres::Client;

/// Objects that differ between a replay of `applied` and the target; dbsage's history schema
/// is bookkeeping, and pending migrations are not replayed, so neither counts as drift.
pub fn drift(
    target: &mut Client,
    project: &Project,
    applied: &[MigrationFile],
) -> dbsage_core::Result<Vec<Difference>> {
    let options = ReadOptions {
        exclude_schemas: vec![project.history_table().schema],
    };
    let (cluster, mut replay) = dbsage_core::local::replayed(project, applied)?;
    let expected = Catalog::read(&mut replay, &options)
        .map_err(|e| dbsage_core::Error::db("reading the replayed schema", e))?;
    drop(replay);
    cluster.stop();
    let live = Catalog::read(target, &options)
        .map_err(|e| dbsage_core::Error::db("reading the target's schema", e))?;
    Ok(diff(&expected, &live))
}
