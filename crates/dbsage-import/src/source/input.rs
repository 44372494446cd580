//! Opening the source: a file or a stream (stdin), the byte-order mark, and a way to read the
//! same bytes again for the reject file. A stream can only be read once, so when a reject file
//! is asked for, what streams in is also spooled to a temporary file (disk, not memory).

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::path::PathBuf;

use crate::error::ImportError;
use crate::options::{Format, Source};

/// Large reads keep the COPY pipeline busy with few system calls.
const READ_BUFFER: usize = 256 * 1024;

pub struct OpenedSource {
    pub reader: Box<dyn BufRead + Send>,
    pub total_bytes: Option<u64>,
    pub replay: Replay,
    /// What to call the source in messages.
    pub name: String,
    /// Length of the skipped byte-order mark (0 or 3), for absolute byte offsets.
    pub bom_len: u64,
}

/// How to read the source a second time.
pub enum Replay {
    File(PathBuf),
    Spool(tempfile::NamedTempFile),
    Unavailable,
}

impl Replay {
    /// The file holding the source's bytes, when there is one.
    pub fn path(&self) -> Option<&std::path::Path> {
        match self {
            Replay::File(p) => Some(p.as_path()),
            Replay::Spool(f) => Some(f.path()),
            Replay::Unavailable => None,
        }
    }

    pub fn open(&self) -> io::Result<Option<Box<dyn BufRead + Send>>> {
        let path = match self {
            Replay::File(p) => p.as_path(),
            Replay::Spool(f) => f.path(),
            Replay::Unavailable => return Ok(None),
        };
        let mut reader: Box<dyn BufRead + Send> =
            Box::new(BufReader::with_capacity(READ_BUFFER, File::open(path)?));
        skip_bom(&mut reader)?;
        Ok(Some(reader))
    }
}

/// Copies everything read through it into a spool file.
struct Tee<R> {
    inner: R,
    spool: File,
}

impl<R: Read> Read for Tee<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.spool.write_all(&buf[..n])?;
        Ok(n)
    }
}

pub fn open(source: Source, spool_for_replay: bool) -> Result<OpenedSource, ImportError> {
    let mut opened = match source {
        Source::Path(path) => {
            let file = File::open(&path)
                .map_err(|e| ImportError::io(format!("opening {}", path.display()), e))?;
            let total_bytes = file.metadata().ok().map(|m| m.len());
            OpenedSource {
                reader: Box::new(BufReader::with_capacity(READ_BUFFER, file)),
                total_bytes,
                name: path.display().to_string(),
                bom_len: 0,
                replay: Replay::File(path),
            }
        }
        Source::Reader(reader) => {
            if spool_for_replay {
                let spool = tempfile::NamedTempFile::new()
                    .map_err(|e| ImportError::io("creating a spool file for the reject file", e))?;
                let handle = spool
                    .reopen()
                    .map_err(|e| ImportError::io("opening the spool file", e))?;
                OpenedSource {
                    reader: Box::new(BufReader::with_capacity(
                        READ_BUFFER,
                        Tee {
                            inner: reader,
                            spool: handle,
                        },
                    )),
                    total_bytes: None,
                    name: "standard input".into(),
                    bom_len: 0,
                    replay: Replay::Spool(spool),
                }
            } else {
                OpenedSource {
                    reader: Box::new(BufReader::with_capacity(READ_BUFFER, reader)),
                    total_bytes: None,
                    name: "standard input".into(),
                    bom_len: 0,
                    replay: Replay::Unavailable,
                }
            }
        }
    };
    opened.bom_len = skip_bom(&mut opened.reader).map_err(|e| match e.kind() {
        io::ErrorKind::InvalidData => ImportError::Usage(e.to_string()),
        _ => ImportError::io(format!("reading {}", opened.name), e),
    })?;
    Ok(opened)
}

/// Drops a UTF-8 byte-order mark; refuses UTF-16/32, whose bytes the CSV rules cannot split.
fn skip_bom(reader: &mut Box<dyn BufRead + Send>) -> io::Result<u64> {
    // A BOM is at most 4 bytes; fill_buf may return fewer only at the end of the input.
    let buf = reader.fill_buf()?;
    if buf.starts_with(&[0xEF, 0xBB, 0xBF]) {
        reader.consume(3);
        return Ok(3);
    } else if buf.starts_with(&[0xFF, 0xFE]) || buf.starts_with(&[0xFE, 0xFF]) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "the source is UTF-16 (it starts with a UTF-16 byte-order mark); convert it to UTF-8 \
             first, for instance with `iconv -f UTF-16 -t UTF-8`",
        ));
    }
    Ok(0)
}

/// The format from the first significant byte: `[` JSON array, `{` NDJSON, anything else CSV.
pub fn sniff_format(reader: &mut Box<dyn BufRead + Send>) -> io::Result<Format> {
    let buf = reader.fill_buf()?;
    Ok(match buf.iter().find(|b| !b.is_ascii_whitespace()) {
        Some(b'[') => Format::Json,
        Some(b'{') => Format::Ndjson,
        _ => Format::Csv,
    })
}
