//! The live schema matches the migration history: `dbsage drift`'s check (the target's catalog
//! against a throwaway replay of the migrations it has applied), so deploy and drift judge
//! alike. Supabase-managed schemas and dbsage's history schema are left out there.

use dbsage_catalog::Difference;
use dbsage_core::config::Project;
use dbsage_core::migrations::MigrationFile;
use postgres::Client;

/// Objects that differ between a replay of `applied` and the target; pending migrations are
/// not replayed, so they are not drift.
pub fn drift(
    target: &mut Client,
    project: &Project,
    applied: &[MigrationFile],
) -> dbsage_core::Result<Vec<Difference>> {
    Ok(dbsage_diff::drift::check(project, applied, target)?.differences)
}
