//! The reject file and its `.log`.
//!
//! The reject file gets the original bytes of each rejected record, unchanged (pgloader writes
//! its transformed row instead, which users cannot diff or fix in place). It is produced by
//! framing the source a second time — the file itself, or the spool of a stream — and copying
//! the records whose start line was rejected. For CSV/TSV with a header, the header comes first
//! so the file can be fixed and imported again as is; JSON array elements are wrapped in a new
//! array. `<reject-file>.log` has one line per problem: line, column, value, reason.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::atomic::AtomicFile;
use crate::error::ImportError;
use crate::load::{framer_for, Reading};
use crate::options::Format;
use crate::report::Reject;
use crate::source::framing::RawRecord;
use crate::source::input::Replay;

pub fn log_path(reject_file: &Path) -> PathBuf {
    let mut name = reject_file.as_os_str().to_owned();
    name.push(".log");
    PathBuf::from(name)
}

/// Writes the rejected records (`lines`: sorted start lines) from a second read of the source.
pub fn write_records(
    path: &Path,
    replay: &Replay,
    reading: &Reading,
    lines: &[u64],
) -> Result<(), ImportError> {
    let io_error = |e| ImportError::io(format!("writing the reject file {}", path.display()), e);
    let mut out = AtomicFile::create(path).map_err(io_error)?;
    let reader = replay
        .open()
        .map_err(|e| ImportError::io("reading the source again for the reject file", e))?;
    let Some(reader) = reader else {
        return Err(ImportError::Usage(
            "the source cannot be read twice, so the reject file cannot be written".into(),
        ));
    };
    let mut framer = framer_for(reading.format, reader, reading.max_record_size);
    let mut record = RawRecord::default();
    let replay_error = |e| ImportError::io("reading the source again for the reject file", e);
    let json_array = reading.format == Format::Json;
    if reading.format.is_delimited()
        && reading.header
        && framer.next(&mut record).map_err(replay_error)?
    {
        out.write_all(&record.bytes).map_err(io_error)?;
        if !record.bytes.ends_with(b"\n") {
            out.write_all(b"\n").map_err(io_error)?;
        }
    }
    if json_array {
        out.write_all(b"[\n").map_err(io_error)?;
    }
    let mut pending = lines.iter().peekable();
    let mut written = 0usize;
    while pending.peek().is_some() && framer.next(&mut record).map_err(replay_error)? {
        while pending.peek().is_some_and(|&&l| l < record.line) {
            pending.next();
        }
        if pending.peek() != Some(&&record.line) {
            continue;
        }
        pending.next();
        if json_array && written > 0 {
            out.write_all(b",\n").map_err(io_error)?;
        }
        if record.oversized {
            // Not held in memory: copied from the source by its byte range.
            copy_range(
                replay,
                reading.bom_len + record.offset,
                record.len,
                &mut out,
            )
            .map_err(replay_error)?;
        } else {
            out.write_all(&record.bytes).map_err(io_error)?;
        }
        if !json_array && !record.bytes.ends_with(b"\n") && !record.oversized {
            out.write_all(b"\n").map_err(io_error)?;
        }
        written += 1;
    }
    if json_array {
        out.write_all(b"\n]\n").map_err(io_error)?;
    }
    out.commit().map_err(io_error)
}

/// Streams `len` bytes at `offset` of the replayable source into `out`.
fn copy_range(replay: &Replay, offset: u64, len: u64, out: &mut impl Write) -> std::io::Result<()> {
    use std::io::{Read, Seek, SeekFrom};
    let Some(path) = replay.path() else {
        return Ok(());
    };
    let mut file = std::fs::File::open(path)?;
    file.seek(SeekFrom::Start(offset))?;
    std::io::copy(&mut file.take(len), out)?;
    Ok(())
}

/// Refuses a reject file (or its `.log`) that is the source itself, whatever `force` says, and
/// one that already exists unless `force`: an import must never overwrite data by accident.
pub fn check_paths(
    reject_file: &Path,
    source: Option<&Path>,
    force: bool,
) -> Result<(), ImportError> {
    let source = source.and_then(|s| std::fs::canonicalize(s).ok());
    for path in [reject_file.to_path_buf(), log_path(reject_file)] {
        if !path.exists() && path.symlink_metadata().is_err() {
            continue;
        }
        if source.is_some() && std::fs::canonicalize(&path).ok() == source {
            return Err(ImportError::Usage(format!(
                "--reject-file: {} is the source file itself; pick another path",
                path.display()
            )));
        }
        if !force {
            return Err(ImportError::Usage(format!(
                "--reject-file: {} already exists; pass --force to replace it, or pick another path",
                path.display()
            )));
        }
    }
    Ok(())
}

/// Accumulates the `.log` lines as rejects stream by in line order.
pub struct LogWriter {
    out: AtomicFile,
    path: PathBuf,
}

impl LogWriter {
    pub fn create(reject_file: &Path) -> Result<LogWriter, ImportError> {
        let path = log_path(reject_file);
        let out = AtomicFile::create(&path)
            .map_err(|e| ImportError::io(format!("creating {}", path.display()), e))?;
        Ok(LogWriter { out, path })
    }

    pub fn add(&mut self, reject: &Reject) -> Result<(), ImportError> {
        writeln!(self.out, "{}", reject.log_line())
            .map_err(|e| ImportError::io(format!("writing {}", self.path.display()), e))
    }

    pub fn finish(self) -> Result<(), ImportError> {
        self.out
            .commit()
            .map_err(|e| ImportError::io(format!("writing {}", self.path.display()), e))
    }
}
