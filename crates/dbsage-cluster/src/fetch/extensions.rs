//! Pure-SQL extensions installed on the system (pgTAP) made available to a fetched build: their
//! control and SQL files work on any major version, and fetched builds ship only contrib.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use crate::install::PgInstall;

/// Copies into `extension_dir` every extension of the system installations that is pure SQL
/// (no script loads a C library) and missing there. Returns the names copied.
pub fn add_system_sql_extensions(extension_dir: &Path) -> io::Result<Vec<String>> {
    let sources: Vec<PathBuf> = PgInstall::installed()
        .iter()
        .filter(|i| !i.is_cached())
        .map(PgInstall::extension_dir)
        .filter(|d| d.as_path() != extension_dir)
        .collect();
    let mut added = Vec::new();
    for source in sources {
        for (name, files) in sql_extensions(&source)? {
            if added.contains(&name) || extension_dir.join(format!("{name}.control")).exists() {
                continue;
            }
            fs::create_dir_all(extension_dir)?;
            for file in &files {
                let dest = extension_dir.join(file.file_name().unwrap_or_default());
                fs::copy(file, &dest)?;
            }
            added.push(name);
        }
    }
    added.sort();
    Ok(added)
}

/// The extensions whose control files are in `dir`, sorted.
pub fn extension_names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            e.file_name()
                .to_str()?
                .strip_suffix(".control")
                .map(str::to_string)
        })
        .collect();
    names.sort();
    names
}

/// The pure-SQL extensions in `dir`: name → its control file and `name--*.sql` scripts.
fn sql_extensions(dir: &Path) -> io::Result<Vec<(String, Vec<PathBuf>)>> {
    let mut found = Vec::new();
    for name in extension_names(dir) {
        let scripts: Vec<PathBuf> = fs::read_dir(dir)?
            .flatten()
            .filter(|e| {
                e.file_name()
                    .to_str()
                    .is_some_and(|f| f.starts_with(&format!("{name}--")) && f.ends_with(".sql"))
            })
            .map(|e| e.path())
            .collect();
        if scripts.is_empty() {
            continue;
        }
        // `module_pathname` in a control file is harmless when no script uses it (pgTAP sets it).
        let loads_library = scripts.iter().any(|s| {
            fs::read_to_string(s)
                .map(|sql| sql.contains("MODULE_PATHNAME") || sql.contains("$libdir"))
                .unwrap_or(true)
        });
        if loads_library {
            continue;
        }
        let mut files = vec![dir.join(format!("{name}.control"))];
        files.extend(scripts);
        found.push((name, files));
    }
    found.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(found)
}
