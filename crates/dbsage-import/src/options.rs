//! What the caller asks for: the import options the CLI parses, the source, the formats, and the
//! progress callback. Defaults are resolved here in one place, so the pipeline never guesses.

use std::io::Read;
use std::path::{Path, PathBuf};

/// How rows meet existing rows with the same key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Mode {
    /// Insert new keys, update existing keys whose values changed, leave identical rows alone.
    Upsert,
    /// Insert only; a row whose key already exists is rejected.
    Insert,
    /// Insert new keys, leave existing keys untouched (counted as unchanged).
    SkipExisting,
}

impl std::str::FromStr for Mode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "upsert" => Ok(Mode::Upsert),
            "insert" => Ok(Mode::Insert),
            "skip-existing" => Ok(Mode::SkipExisting),
            other => Err(format!(
                "unknown mode {other:?}: expected upsert, insert or skip-existing"
            )),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// RFC 4180 CSV: `"` quotes, `""` escapes, CRLF or LF line ends.
    Csv,
    /// CSV with a tab delimiter (quotes still honoured).
    Tsv,
    /// One JSON object per line.
    Ndjson,
    /// One JSON array of objects.
    Json,
}

impl std::str::FromStr for Format {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "csv" => Ok(Format::Csv),
            "tsv" | "tab" => Ok(Format::Tsv),
            "ndjson" | "jsonl" | "jsonlines" => Ok(Format::Ndjson),
            "json" => Ok(Format::Json),
            other => Err(format!(
                "unknown format {other:?}: expected csv, tsv, ndjson or json"
            )),
        }
    }
}

impl Format {
    /// The format a file name implies (`users.csv`, `events.jsonl`), if any.
    pub fn from_path(path: &Path) -> Option<Format> {
        let ext = path.extension()?.to_str()?;
        ext.parse().ok()
    }

    pub(crate) fn is_delimited(self) -> bool {
        matches!(self, Format::Csv | Format::Tsv)
    }
}

/// Everything `dbsage import` accepts besides the source. `Default` gives the documented
/// defaults (mode from the key, format from the file name, header on, error budget 0).
#[derive(Debug, Clone, Default)]
pub struct ImportOptions {
    /// `"schema.table"` or `"table"`; parts may be double-quoted.
    pub table: String,
    /// Key columns (target names). Default: the table's primary key.
    pub key: Option<Vec<String>>,
    /// Default: upsert when `key` is given, insert otherwise.
    pub mode: Option<Mode>,
    /// `(source name, target column)` renames.
    pub map: Vec<(String, String)>,
    /// Default: from the file extension, else sniffed from the first byte.
    pub format: Option<Format>,
    /// Field delimiter for CSV/TSV (default `,` / tab).
    pub delimiter: Option<u8>,
    /// An unquoted field equal to this is NULL (default: the empty unquoted field).
    pub null_marker: Option<String>,
    /// Source encoding (default UTF-8). Converted by the server during COPY.
    pub encoding: Option<String>,
    /// Whether CSV/TSV starts with a header row (default true).
    pub header: Option<bool>,
    /// Rejected rows tolerated before nothing is merged (default 0).
    pub max_errors: Option<u64>,
    /// Rejected fraction of source rows tolerated (0.0..=1.0), instead of `max_errors`.
    pub max_error_ratio: Option<f64>,
    /// Where the original text of rejected records goes; reasons go to `<path>.log`.
    pub reject_file: Option<PathBuf>,
    /// Validate and report, change nothing.
    pub dry_run: bool,
    /// Accept values a numeric or date/time typmod would round (`1.234` into `numeric(10,2)`);
    /// by default they are rejected. Values cut short (strings, bit strings) are always rejected.
    pub allow_rounding: bool,
    /// Let `reject_file` (and its `.log`) replace existing files.
    pub force: bool,
    /// A record larger than this many bytes is rejected without being held in memory
    /// (default [`DEFAULT_MAX_RECORD_SIZE`]).
    pub max_record_size: Option<u64>,
}

/// 64 MiB: far above any sane row, far below the server's 1 GB limit on a COPY row.
pub const DEFAULT_MAX_RECORD_SIZE: u64 = 64 * 1024 * 1024;

/// Where the data comes from. The CLI turns `-` into `Reader(stdin)`.
pub enum Source {
    Path(PathBuf),
    Reader(Box<dyn Read + Send>),
}

impl std::fmt::Debug for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Source::Path(p) => write!(f, "Path({})", p.display()),
            Source::Reader(_) => write!(f, "Reader"),
        }
    }
}

/// Called while the source streams in; the CLI draws a progress bar from it.
pub trait Progress {
    fn on_progress(&self, rows: u64, bytes: u64, total_bytes: Option<u64>);
}

/// A [`Progress`] that ignores everything (tests, non-terminals).
pub struct NoProgress;

impl Progress for NoProgress {
    fn on_progress(&self, _rows: u64, _bytes: u64, _total_bytes: Option<u64>) {}
}

/// What `export` writes out.
#[derive(Debug, Clone)]
pub enum ExportSource {
    /// `"schema.table"` or `"table"`.
    Table(String),
    /// Any SELECT (a trailing `;` is fine).
    Query(String),
}
