//! The reject file and its `.log`.
//!
//! The reject file gets the original bytes of each rejected record, unchanged (pgloader writes
//! its transformed row instead, which users cannot diff or fix in place). It is produced by
//! framing the source a second time — the file itself, or the spool of a stream — and copying
//! the records whose start line was rejected. For CSV/TSV with a header, the header comes first
//! so the file can be fixed and imported again as is; JSON array elements are wrapped in a new
//! array. `<reject-file>.log` has one line per problem: line, column, value, reason.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

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
    let mut out = BufWriter::new(File::create(path).map_err(io_error)?);
    let reader = replay
        .open()
        .map_err(|e| ImportError::io("reading the source again for the reject file", e))?;
    let Some(reader) = reader else {
        return Err(ImportError::Usage(
            "the source cannot be read twice, so the reject file cannot be written".into(),
        ));
    };
    let mut framer = framer_for(reading.format, reader);
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
        out.write_all(&record.bytes).map_err(io_error)?;
        if !json_array && !record.bytes.ends_with(b"\n") {
            out.write_all(b"\n").map_err(io_error)?;
        }
        written += 1;
    }
    if json_array {
        out.write_all(b"\n]\n").map_err(io_error)?;
    }
    out.flush().map_err(io_error)
}

/// Accumulates the `.log` lines as rejects stream by in line order.
pub struct LogWriter {
    out: BufWriter<File>,
    path: PathBuf,
}

impl LogWriter {
    pub fn create(reject_file: &Path) -> Result<LogWriter, ImportError> {
        let path = log_path(reject_file);
        let file = File::create(&path)
            .map_err(|e| ImportError::io(format!("creating {}", path.display()), e))?;
        Ok(LogWriter {
            out: BufWriter::new(file),
            path,
        })
    }

    pub fn add(&mut self, reject: &Reject) -> Result<(), ImportError> {
        writeln!(self.out, "{}", reject.log_line())
            .map_err(|e| ImportError::io(format!("writing {}", self.path.display()), e))
    }

    pub fn finish(mut self) -> Result<(), ImportError> {
        self.out
            .flush()
            .map_err(|e| ImportError::io(format!("writing {}", self.path.display()), e))
    }
}
