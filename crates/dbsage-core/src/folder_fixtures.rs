//! `-- dbsage:fixture` files in the migrations folder: data for the migrations that follow, not
//! migrations. `migrate --local` applies each at its place in version order; every other command
//! skips them, so they never reach a real environment and are never pending.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::migrations::MigrationFile;

/// The first line that makes a migration-folder file a fixture.
pub const MARKER: &str = "-- dbsage:fixture";

/// Whether `text` starts with the marker line (a byte-order mark and trailing words allowed).
pub fn is_fixture(text: &str) -> bool {
    let first = text
        .trim_start_matches('\u{feff}')
        .lines()
        .next()
        .unwrap_or("");
    first
        .trim_end()
        .strip_prefix(MARKER)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with(char::is_whitespace))
}

/// A fixture file and the version its name gives it (`<version>_<name>.sql`).
#[derive(Debug, Clone)]
pub struct FolderFixture {
    pub version: String,
    pub path: PathBuf,
}

/// The fixture files in `dir`, in version order.
pub fn discover(dir: &Path) -> Result<Vec<FolderFixture>> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Error::io(format!("reading {}", dir.display()), e)),
    };
    let mut found = Vec::new();
    for entry in entries {
        let path = entry
            .map_err(|e| Error::io(format!("reading {}", dir.display()), e))?
            .path();
        let Some(file_name) = path.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        let Some((version, _)) = file_name
            .strip_suffix(".sql")
            .and_then(|stem| stem.split_once('_'))
        else {
            continue;
        };
        if version.is_empty() || !version.bytes().all(|b| b.is_ascii_digit()) {
            continue;
        }
        // Unreadable files are reported by migration discovery; here they are simply not data.
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        if is_fixture(&text) {
            found.push(FolderFixture {
                version: version.to_string(),
                path,
            });
        }
    }
    found.sort_by(|a, b| (&a.version, &a.path).cmp(&(&b.version, &b.path)));
    Ok(found)
}

/// Where each fixture goes among `files` (in version order): `before` the first migration, or
/// after the migration whose version is the key (the last one older than the fixture).
#[derive(Debug, Default)]
pub struct Schedule {
    pub before: Vec<PathBuf>,
    pub after: BTreeMap<String, Vec<PathBuf>>,
}

pub fn schedule(fixtures: &[FolderFixture], files: &[MigrationFile]) -> Schedule {
    let mut schedule = Schedule::default();
    for fixture in fixtures {
        let preceding = files
            .iter()
            .filter(|f| version_key(&f.version) < version_key(&fixture.version))
            .max_by(|a, b| version_key(&a.version).cmp(&version_key(&b.version)));
        match preceding {
            Some(f) => schedule
                .after
                .entry(f.version.clone())
                .or_default()
                .push(fixture.path.clone()),
            None => schedule.before.push(fixture.path.clone()),
        }
    }
    schedule
}

/// Versions compare as numbers (`9` before `10`), whatever their width.
fn version_key(version: &str) -> (usize, &str) {
    let digits = version.trim_start_matches('0');
    (digits.len(), digits)
}
