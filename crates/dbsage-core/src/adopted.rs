//! The adopted tool's history as dbsage reads it: which tool, what it recorded as applied, and
//! how `status` shows that before dbsage's first `migrate` imports it.

use postgres::Client;

use crate::config::Project;
use crate::error::{Error, Result};
use crate::history::AppliedRow;
use crate::migrations::MigrationFile;
use dbsage_supabase::{AdoptError, ImportedVersion, Layout};

/// The tool whose history dbsage imports and keeps in step: the adopted layout, or the Supabase
/// CLI for a Supabase project in dbsage's own layout.
pub fn tool_of(project: &Project) -> Option<Layout> {
    match project.layout() {
        Some(l) => Some(l),
        None if project.is_supabase() => Some(Layout::Supabase),
        None => None,
    }
}

/// What `tool` recorded as applied on the database behind `client`.
pub fn import(client: &mut Client, tool: Layout) -> Result<Vec<ImportedVersion>> {
    dbsage_supabase::import_history(client, tool).map_err(|e| match e {
        AdoptError::Dirty { .. } => Error::Failed {
            message: e.to_string(),
            hint: "dbsage does not migrate over a half-applied migration".into(),
        },
        e => Error::Failed {
            message: format!("reading {tool}'s history table: {e}"),
            hint: "check the connecting role can read it".into(),
        },
    })
}

/// Whether `version` counts as applied by the other tool: recorded, or at or below a baseline
/// (Flyway's BASELINE, golang-migrate's single newest version).
pub fn recorded(imported: &[ImportedVersion], version: &str) -> bool {
    imported.iter().any(|v| {
        if v.baseline {
            crate::migrations::compare_versions(version, &v.version).is_le()
        } else {
            dbsage_supabase::same_version(&v.version, version)
        }
    })
}

/// The history rows dbsage's first `migrate` will import, for `status` to show before then:
/// the files the other tool applied, and the versions it recorded without a file (missing).
/// Empty when the project adopts no tool or the tool never ran on this database.
pub fn rows_to_import(
    client: &mut Client,
    project: &Project,
    files: &[MigrationFile],
) -> Result<Vec<AppliedRow>> {
    let Some(tool) = tool_of(project) else {
        return Ok(Vec::new());
    };
    let imported = import(client, tool)?;
    let by = format!("{tool} (imported on the first dbsage migrate)");
    let row = |version: &str, name: &str, checksum: &str| AppliedRow {
        version: version.to_string(),
        name: name.to_string(),
        checksum: checksum.to_string(),
        applied_at: String::new(),
        applied_by: by.clone(),
        duration_ms: 0,
        down_checksum: None,
    };
    let mut rows: Vec<AppliedRow> = files
        .iter()
        .filter(|f| recorded(&imported, &f.version))
        .map(|f| row(&f.version, &f.name, &f.checksum))
        .collect();
    for v in imported.iter().filter(|v| !v.baseline) {
        if !files
            .iter()
            .any(|f| dbsage_supabase::same_version(&v.version, &f.version))
        {
            let name = v
                .name
                .clone()
                .unwrap_or_else(|| format!("(recorded by {tool})"));
            rows.push(row(&v.version, &name, ""));
        }
    }
    Ok(rows)
}
