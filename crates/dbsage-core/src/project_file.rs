//! Files of the project a team commits (dbsage.toml, the lint-skipped record), written through
//! a temporary file renamed into place: an interrupted write (full disk, Ctrl-C, a crash) leaves
//! the old file or none, never a torn one that the next command cannot read.

use std::io::Write;
use std::path::Path;

use crate::error::{Error, Result};

/// Writes `text` to `path` atomically; a new file gets 0644, an existing one keeps its mode.
pub fn write(path: &Path, text: &str) -> Result<()> {
    let what = || format!("writing {}", path.display());
    let mut file = dbsage_import::AtomicFile::create(path).map_err(|e| Error::io(what(), e))?;
    file.write_all(text.as_bytes())
        .map_err(|e| Error::io(what(), e))?;
    file.commit().map_err(|e| Error::io(what(), e))
}
