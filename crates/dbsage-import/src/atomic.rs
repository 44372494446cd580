//! Output files written whole or not at all: the bytes go to a temporary file in the target's
//! folder (same file system, so the rename is atomic) that replaces the target only on
//! [`AtomicFile::commit`]. Dropped without a commit, the temporary file is removed and an
//! existing target is left untouched.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use tempfile::NamedTempFile;

pub struct AtomicFile {
    out: BufWriter<NamedTempFile>,
    path: PathBuf,
}

impl AtomicFile {
    pub fn create(path: &Path) -> io::Result<AtomicFile> {
        let dir = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        let temp = tempfile::Builder::new()
            .prefix(".dbsage-tmp-")
            .tempfile_in(dir)?;
        Ok(AtomicFile {
            out: BufWriter::with_capacity(256 * 1024, temp),
            path: path.to_path_buf(),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Flushes, syncs and renames over the target. An existing target keeps its permissions;
    /// a new one gets 0644 (the temporary file is created 0600).
    pub fn commit(self) -> io::Result<()> {
        let temp = self.out.into_inner().map_err(|e| e.into_error())?;
        temp.as_file().sync_all()?;
        let permissions = match std::fs::metadata(&self.path) {
            Ok(m) => m.permissions(),
            Err(_) => {
                use std::os::unix::fs::PermissionsExt;
                std::fs::Permissions::from_mode(0o644)
            }
        };
        temp.as_file().set_permissions(permissions)?;
        let file: File = temp.persist(&self.path).map_err(|e| e.error)?;
        drop(file);
        Ok(())
    }
}

impl Write for AtomicFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.out.write(buf)
    }
    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.out.write_all(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}
