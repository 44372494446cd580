//! Layouts with one folder per migration: Prisma (`<timestamp>_<name>/migration.sql`) and diesel
//! (`<date>_<name>/up.sql` + `down.sql`).

use std::fs;
use std::path::{Path, PathBuf};

use crate::error::AdoptError;
use crate::layout::{file_name, sql_files, sub_dirs};
use crate::read::{plain, read_text, AdoptedMigration};

/// Prisma applies every folder of `prisma/migrations` in name order; loose files
/// (`migration_lock.toml`) are not migrations. A folder without `migration.sql` makes
/// `prisma migrate` fail, so it is an error here too.
pub(crate) fn read_prisma(
    dir: &Path,
    ignored: &mut Vec<PathBuf>,
) -> Result<Vec<AdoptedMigration>, AdoptError> {
    ignored.extend(sql_files(dir, false));
    let mut found = Vec::new();
    for folder in sub_dirs(dir) {
        let script = folder.join("migration.sql");
        if !script.is_file() {
            return Err(AdoptError::Unsupported {
                path: folder,
                reason: "this Prisma migration folder has no migration.sql (prisma migrate \
                         fails on it too); add the script or remove the folder"
                    .into(),
            });
        }
        let (version, name) = split_folder_name(&folder)?;
        let mut migration = plain(version, name, read_text(&script)?, script);
        // Prisma's docs generate a `down.sql` beside `migration.sql` (`prisma migrate diff`);
        // Prisma never runs it, `dbsage rollback` does.
        let down = folder.join("down.sql");
        if down.is_file() {
            migration.down_sql = Some(read_text(&down)?);
            migration.down_path = Some(down);
        }
        found.push(migration);
    }
    Ok(found)
}

/// diesel applies every folder holding an `up.sql`; its version is the part of the folder name
/// before the first `_` without dashes (`2024-01-15-093000_users` is `20240115093000`), the
/// value `__diesel_schema_migrations` stores. `metadata.toml` with `run_in_transaction = false`
/// runs the migration outside a transaction.
pub(crate) fn read_diesel(
    dir: &Path,
    ignored: &mut Vec<PathBuf>,
) -> Result<Vec<AdoptedMigration>, AdoptError> {
    ignored.extend(sql_files(dir, false));
    let mut found = Vec::new();
    for folder in sub_dirs(dir) {
        let up = folder.join("up.sql");
        if !up.is_file() {
            return Err(AdoptError::Unsupported {
                path: folder,
                reason: "this diesel migration folder has no up.sql (diesel refuses it too); \
                         add the file or remove the folder"
                    .into(),
            });
        }
        let (raw_version, name) = split_folder_name(&folder)?;
        let mut migration = plain(raw_version.replace('-', ""), name, read_text(&up)?, up);
        let down = folder.join("down.sql");
        if down.is_file() {
            migration.down_sql = Some(read_text(&down)?);
            migration.down_path = Some(down);
        }
        migration.no_transaction = !runs_in_transaction(&folder.join("metadata.toml"))?;
        found.push(migration);
    }
    Ok(found)
}

/// `<version>_<name>`: the version must hold digits (dashes allowed, as diesel writes dates).
fn split_folder_name(folder: &Path) -> Result<(String, String), AdoptError> {
    let folder_name = file_name(folder);
    let (version, name) = folder_name
        .split_once('_')
        .unwrap_or((folder_name.as_str(), ""));
    let digits = version.replace('-', "");
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(AdoptError::Unsupported {
            path: folder.to_path_buf(),
            reason: "the folder name does not start with a numeric version \
                     (<timestamp>_<name>); dbsage orders migrations by it"
                .into(),
        });
    }
    Ok((version.to_string(), name.to_string()))
}

fn runs_in_transaction(metadata: &Path) -> Result<bool, AdoptError> {
    if !metadata.is_file() {
        return Ok(true);
    }
    let text = fs::read_to_string(metadata).map_err(|e| AdoptError::io(metadata, e))?;
    let table: toml::Table = toml::from_str(&text).map_err(|e| AdoptError::Unsupported {
        path: metadata.to_path_buf(),
        reason: format!("not valid TOML: {e}"),
    })?;
    Ok(table
        .get("run_in_transaction")
        .and_then(|v| v.as_bool())
        .unwrap_or(true))
}
