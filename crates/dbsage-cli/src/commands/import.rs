use std::io::IsTerminal;
use std::path::PathBuf;

use clap::{Args, ValueEnum};
use serde_json::json;

use dbsage_core::env::Target;
use dbsage_core::{gates, protection};
use dbsage_import::{ExportSource, ImportError, ImportOptions, ImportReport, Mode, Source};

use crate::output::{Out, Style};
use crate::Format;

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Report {
    Human,
    Json,
}

/// The data's format, separate from the report's (`--format`).
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum DataFormat {
    Csv,
    Tsv,
    Ndjson,
    Json,
}

#[derive(Args, Debug)]
pub struct ImportArgs {
    /// The file to load, or - for standard input.
    pub file: String,
    /// Target table (schema.table or table).
    #[arg(long, value_name = "TABLE")]
    pub into: String,
    /// Key column(s) for upsert/skip-existing (default: the primary key).
    #[arg(long, value_delimiter = ',', value_name = "COL[,COL]")]
    pub key: Option<Vec<String>>,
    /// upsert (default with --key), insert (default otherwise), skip-existing.
    #[arg(long)]
    pub mode: Option<String>,
    /// Rename a source column: --map src=dst (repeatable).
    #[arg(long, value_name = "SRC=DST")]
    pub map: Vec<String>,
    #[arg(long)]
    pub delimiter: Option<char>,
    /// The text that means NULL (default: an empty unquoted CSV field).
    #[arg(long)]
    pub null: Option<String>,
    /// Source encoding (default UTF-8), e.g. LATIN1, WIN1252.
    #[arg(long)]
    pub encoding: Option<String>,
    /// The first line is a header (default for CSV/TSV).
    #[arg(long, overrides_with = "no_header")]
    pub header: bool,
    #[arg(long)]
    pub no_header: bool,
    /// Merge the good rows when at most N rows are rejected (default 0: all or nothing).
    #[arg(long, value_name = "N")]
    pub max_errors: Option<u64>,
    /// Merge the good rows when at most this fraction is rejected.
    #[arg(long, value_name = "R")]
    pub max_error_ratio: Option<f64>,
    /// Write the original text of each rejected record here (and the reasons to PATH.log).
    #[arg(long, value_name = "PATH")]
    pub reject_file: Option<PathBuf>,
    /// Replace an existing --reject-file (never the source file itself).
    #[arg(long)]
    pub force: bool,
    /// Accept values a numeric/time typmod rounds (1.234 into numeric(10,2)); rejected by default.
    #[arg(long)]
    pub allow_rounding: bool,
    /// Reject records larger than this (bytes; K, M, G, KiB, MiB, GiB suffixes). Default 64MiB.
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    pub max_record_size: Option<u64>,
    /// Validate and report; change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// The data's format (default: from the file's extension, else sniffed from its start).
    #[arg(long, value_enum, value_name = "FORMAT")]
    pub data_format: Option<DataFormat>,
    /// Deprecated: the report format is --format.
    #[arg(long, value_enum, hide = true)]
    pub report: Option<Report>,
    /// Environment: a name from dbsage.toml, `dev` (default), or DATABASE_URL.
    #[arg(long, short)]
    pub env: Option<String>,
    /// Do not ask for confirmation on a protected environment.
    #[arg(long, short)]
    pub yes: bool,
    /// Why data is imported into a protected environment: recorded with the import in the
    /// audit log.
    #[arg(long, value_name = "TEXT")]
    pub reason: Option<String>,
}

#[derive(Args, Debug)]
pub struct ExportArgs {
    /// Table to export (or use --query).
    #[arg(required_unless_present = "query")]
    pub table: Option<String>,
    /// Export a query's rows instead of a table.
    #[arg(long, conflicts_with = "table")]
    pub query: Option<String>,
    /// Output file (default: standard output).
    #[arg(long, value_name = "PATH")]
    pub to: Option<PathBuf>,
    /// The data's format (default: from --to's extension, else CSV).
    #[arg(long, value_enum, value_name = "FORMAT")]
    pub data_format: Option<DataFormat>,
    /// Environment: a name from dbsage.toml, `dev` (default), or DATABASE_URL.
    #[arg(long, short)]
    pub env: Option<String>,
}

impl DataFormat {
    fn for_import(self) -> dbsage_import::Format {
        match self {
            DataFormat::Csv => dbsage_import::Format::Csv,
            DataFormat::Tsv => dbsage_import::Format::Tsv,
            DataFormat::Ndjson => dbsage_import::Format::Ndjson,
            DataFormat::Json => dbsage_import::Format::Json,
        }
    }
}

/// The data format asked for: `--data-format`, else the old `--format csv|tsv|ndjson` spelling
/// (still honoured, with a note).
fn data_format(
    command: &str,
    given: Option<DataFormat>,
    format: Format,
) -> Option<dbsage_import::Format> {
    if given.is_none() && crate::formats::is_deprecated_data_format(command, format) {
        let name = crate::formats::name(format);
        err_line!(
            "note: `{command} --format {name}` is deprecated: --format is the report format; use --data-format {name}"
        );
        return name.parse().ok();
    }
    given.map(DataFormat::for_import)
}

/// `65536`, `64K`, `64MiB`, `1G`: a size in bytes (binary multiples).
fn parse_size(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let digits = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(digits);
    let number: u64 = number
        .parse()
        .map_err(|_| format!("{text:?} is not a size (for example 65536, 64K, 64MiB, 1G)"))?;
    let factor: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        other => return Err(format!("unknown size unit {other:?} (use K, M or G)")),
    };
    number
        .checked_mul(factor)
        .filter(|&n| n > 0)
        .ok_or_else(|| format!("{text:?} is not a usable size"))
}

fn usage(message: String) -> dbsage_core::Error {
    dbsage_core::Error::Config {
        message,
        hint: "see `dbsage import --help`".into(),
    }
}

/// A progress bar on a terminal; nothing otherwise.
struct Bar(Option<indicatif::ProgressBar>);

impl dbsage_import::Progress for Bar {
    fn on_progress(&self, rows: u64, bytes: u64, total: Option<u64>) {
        if let Some(bar) = &self.0 {
            if let Some(t) = total {
                bar.set_length(t);
            }
            bar.set_position(bytes);
            bar.set_message(format!("{rows} rows"));
        }
    }
}

pub fn run_import(args: ImportArgs, out: &Out) -> dbsage_core::Result<i32> {
    if args.report == Some(Report::Json) {
        err_line!("note: `import --report json` is deprecated: use --format json");
    }
    let json_report = out.json_mode() || args.report == Some(Report::Json);
    let project = super::project()?;
    let target = Target::resolve(&project, args.env.as_deref())?;
    super::announce(out, &target);
    let mut map = Vec::new();
    for m in &args.map {
        let (src, dst) = m
            .split_once('=')
            .ok_or_else(|| usage(format!("--map {m}: expected SRC=DST")))?;
        map.push((src.to_string(), dst.to_string()));
    }
    let options = ImportOptions {
        table: args.into.clone(),
        key: args.key.clone(),
        mode: args
            .mode
            .as_deref()
            .map(str::parse::<Mode>)
            .transpose()
            .map_err(usage)?,
        map,
        format: data_format("import", args.data_format, out.format),
        delimiter: args.delimiter.map(|c| c as u8),
        null_marker: args.null.clone(),
        encoding: args.encoding.clone(),
        header: if args.no_header {
            Some(false)
        } else if args.header {
            Some(true)
        } else {
            None
        },
        max_errors: args.max_errors,
        max_error_ratio: args.max_error_ratio,
        reject_file: args.reject_file.clone(),
        dry_run: args.dry_run,
        allow_rounding: args.allow_rounding,
        force: args.force,
        max_record_size: args.max_record_size,
    };
    let (mut client, protection) = target.connect_protected(&project, "dbsage import")?;
    let mut confirmation = None;
    if let Some(protection) = &protection {
        if args.dry_run {
            out.status(
                "Note",
                &format!("{}; a dry run asks for nothing", protection.describe()),
            );
        } else {
            let mode = args.mode.clone().unwrap_or_else(|| {
                if args.key.is_some() {
                    "upsert"
                } else {
                    "upsert on the primary key, else insert"
                }
                .into()
            });
            let key = args
                .key
                .as_ref()
                .map(|k| format!(", key {}", k.join(",")))
                .unwrap_or_default();
            let plan = [format!(
                "would import {} into {} (mode {mode}{key})",
                args.file, args.into
            )];
            let confirmed = gates::confirm_protected(
                &target,
                protection,
                "import into",
                &plan,
                args.yes,
                &mut |p| out.ask(p),
            )?;
            protection::mark(&mut client, &project, &target)?;
            let confirmed = super::override_reason::with_reason(&confirmed, args.reason.as_deref());
            confirmation = Some((confirmed, mode));
        }
    }
    let source = if args.file == "-" {
        Source::Reader(Box::new(std::io::stdin()))
    } else {
        Source::Path(PathBuf::from(&args.file))
    };
    let bar = Bar((std::io::stderr().is_terminal() && !json_report).then(|| {
        let b = indicatif::ProgressBar::new(0);
        b.set_style(
            indicatif::ProgressStyle::with_template(
                "{bar:30} {bytes}/{total_bytes} {msg} {per_sec} eta {eta}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        b
    }));
    let result = dbsage_import::import(&mut client, source, &options, &bar);
    if let Some(b) = &bar.0 {
        b.finish_and_clear();
    }
    // A merge into a protected database is audited like a migration.
    if let (Some((confirmed, mode)), Ok(r)) = (&confirmation, &result) {
        if r.merged {
            protection::record_event(
                &mut client,
                &project,
                "imported",
                confirmed,
                json!({
                    "file": args.file, "table": args.into, "mode": mode,
                    "source_rows": r.source_rows, "inserted": r.inserted,
                    "updated": r.updated, "unchanged": r.unchanged, "rejected": r.rejected,
                }),
            )?;
        }
    }
    let (report, error) = match result {
        Ok(r) => (Some(r), None),
        Err(e) => (e.report().cloned(), Some(e)),
    };
    if json_report {
        let mut value = report
            .as_ref()
            .map(|r| serde_json::to_value(r).unwrap())
            .unwrap_or_else(|| json!({}));
        value["environment"] = json!(target.name);
        value["table"] = json!(args.into);
        if let Some(e) = &error {
            value["error"] = json!({ "message": e.to_string() });
        }
        out.json(&value);
    } else if let Some(r) = &report {
        print_report(out, r, &args, &target.name);
    }
    match error {
        None => Ok(0),
        Some(e) => {
            let code = e.exit_code();
            if !json_report {
                print_error(out, &e);
            }
            Ok(code)
        }
    }
}

fn print_report(out: &Out, r: &ImportReport, args: &ImportArgs, env: &str) {
    let shown = r.rejects.len();
    for reject in &r.rejects {
        let column = reject
            .column
            .as_deref()
            .map(|c| format!(" column {c}"))
            .unwrap_or_default();
        let value = reject
            .value
            .as_deref()
            .map(|v| format!(" value {v:?}"))
            .unwrap_or_default();
        out_line!(
            "{}:{}:{column}{value}: {}",
            args.file,
            reject.line,
            reject.reason
        );
    }
    if (r.rejected as usize) > shown {
        out_line!(
            "… and {} more rejected rows (see --reject-file)",
            r.rejected as usize - shown
        );
    }
    let verdict = if r.dry_run {
        out.paint("dry run: nothing changed", Style::Warn)
    } else if r.merged {
        out.paint("merged", Style::Good)
    } else {
        out.paint("nothing merged", Style::Bad)
    };
    let how = match (&r.mode, &r.key) {
        (Some(Mode::Insert), _) => " (insert)".to_string(),
        (Some(Mode::Upsert), Some(key)) => format!(" (upsert on {})", key.join(", ")),
        (Some(Mode::SkipExisting), Some(key)) => format!(" (skip-existing on {})", key.join(", ")),
        _ => String::new(),
    };
    out_line!(
        "{} rows → {} ({env}): {}; {verdict}{how}",
        r.source_rows,
        args.into,
        r.counts_text()
    );
    if r.mode == Some(Mode::Insert) && r.key.is_none() && args.key.is_none() && args.mode.is_none()
    {
        err_line!(
            "note: no key to match rows on ({} has no primary key among the file's columns, and no --key was given): the rows were inserted as they are, and a re-run inserts them again; give --key COL[,COL] to merge",
            args.into
        );
    }
}

fn print_error(out: &Out, e: &ImportError) {
    let hint = match e {
        ImportError::Rejected { .. } => {
            Some("fix the rows (--reject-file writes them out), or allow some with --max-errors N")
        }
        _ => None,
    };
    out.error_text(&e.to_string(), hint);
}

pub fn run_export(args: ExportArgs, out: &Out) -> dbsage_core::Result<i32> {
    let project = super::project()?;
    let target = Target::resolve(&project, args.env.as_deref())?;
    super::announce(out, &target);
    // Without --to the data is the output: `--format json` can then only mean the data (the old
    // spelling, kept with a note); with --to it is the report.
    let deprecated_json_data =
        args.to.is_none() && args.data_format.is_none() && out.format == Format::Json;
    let format = if deprecated_json_data {
        err_line!(
            "note: `export --format json` to standard output is deprecated: use --data-format json"
        );
        Some(dbsage_import::Format::Json)
    } else {
        data_format("export", args.data_format, out.format)
    }
    .or_else(|| {
        args.to
            .as_deref()
            .and_then(dbsage_import::Format::from_path)
    })
    .unwrap_or(dbsage_import::Format::Csv);
    let what = match (&args.query, &args.table) {
        (Some(q), _) => ExportSource::Query(q.clone()),
        (None, Some(t)) => ExportSource::Table(t.clone()),
        (None, None) => unreachable!("clap requires one"),
    };
    let mut client = target.connect(&project, "dbsage export")?;
    let result = match &args.to {
        // Written to a temporary file beside the target and renamed only on success: a failed
        // export leaves an existing file untouched.
        Some(path) => match dbsage_import::AtomicFile::create(path) {
            Err(e) => {
                return Err(dbsage_core::Error::io(
                    format!("creating {}", path.display()),
                    e,
                ))
            }
            Ok(mut file) => {
                dbsage_import::export(&mut client, what, format, &mut file).and_then(|rows| {
                    file.commit()
                        .map_err(|e| ImportError::Io {
                            what: format!("writing {}", path.display()),
                            source: e,
                        })
                        .map(|()| rows)
                })
            }
        },
        None => {
            let stdout = std::io::stdout();
            let mut lock = stdout.lock();
            dbsage_import::export(&mut client, what, format, &mut lock)
        }
    };
    match result {
        Ok(rows) => {
            if let Some(path) = &args.to {
                if out.json_mode() {
                    out.json(&json!({
                        "environment": target.name,
                        "rows": rows,
                        "file": super::display_path(path),
                        "data_format": format,
                    }));
                } else {
                    out.status("Exported", &format!("{rows} rows to {}", path.display()));
                }
            }
            Ok(0)
        }
        Err(e) if deprecated_json_data => {
            err_line!("error: {}", dbsage_core::redact::redact(&e.to_string()));
            Ok(e.exit_code())
        }
        Err(e) => {
            out.error_text(&e.to_string(), None);
            Ok(e.exit_code())
        }
    }
}
