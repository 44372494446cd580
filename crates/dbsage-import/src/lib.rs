//! dbsage's import/export workflow as a library: the CLI parses options and opens the
//! connection; this crate does the production-grade pattern in one call.
//!
//! The import pipeline (one transaction, so a failure leaves nothing behind):
//! 1. read the source client-side, streaming, with bounded memory ([`source`]);
//! 2. COPY it into a session-temporary all-text staging table ([`load`]) — or, for a file,
//!    first into typed staging with a direct merge, falling back to text on any refusal
//!    ([`typed`]);
//! 3. validate before touching the target: types, NOT NULL, CHECK, duplicate keys, existing
//!    keys (insert mode), dangling foreign keys ([`validate`]);
//! 4. merge with one `MERGE` (or `INSERT … ON CONFLICT`) that skips unchanged rows ([`merge`]);
//! 5. report counts that reconcile, write the reject file ([`rejectfile`]), commit — or roll
//!    back when the error budget is exceeded or on a dry run. Temporary tables are
//!    `ON COMMIT DROP`, so they go away with the transaction whatever happens.

mod atomic;
mod catalog;
mod copy_text;
mod error;
mod export;
mod ident;
mod keyproof;
mod load;
mod merge;
mod options;
mod rejectfile;
mod report;
mod source;
mod typed;
mod validate;

use fallible_iterator::FallibleIterator;
use postgres::Client;

pub use atomic::AtomicFile;
pub use error::{server_words, ImportError};
pub use export::export;
pub use options::{
    ExportSource, Format, ImportOptions, Mode, NoProgress, Progress, Source,
    DEFAULT_MAX_RECORD_SIZE,
};
pub use rejectfile::log_path as reject_log_path;
pub use report::{ImportReport, Reject, LISTED_REJECTS};

use catalog::Table;
use error::db;
use load::{Loaded, Reading, StreamIn};
use merge::Merge;
use validate::{Validator, REJECTS};

/// Imports `source` into `options.table`. See the crate docs for the pipeline.
///
/// Returns the report when the import was merged (or validated, on a dry run). Rejected rows
/// over the error budget give [`ImportError::Rejected`] with the report; nothing is merged then.
pub fn import(
    client: &mut Client,
    source: Source,
    options: &ImportOptions,
    progress: &dyn Progress,
) -> Result<ImportReport, ImportError> {
    let budget = Budget::from_options(options)?;
    if let Some(reject_file) = &options.reject_file {
        let source_path = match &source {
            Source::Path(p) => Some(p.as_path()),
            Source::Reader(_) => None,
        };
        rejectfile::check_paths(reject_file, source_path, options.force)?;
    }
    let table = catalog::describe(client, &options.table)?;
    let (key, mode) = key_and_mode(&table, options)?;
    let encoding = resolve_encoding(client, options.encoding.as_deref())?;
    let path_format = match &source {
        Source::Path(p) => Format::from_path(p),
        Source::Reader(_) => None,
    };
    let mut opened = source::input::open(source, options.reject_file.is_some())?;
    let format = match options.format.or(path_format) {
        Some(f) => f,
        None => source::input::sniff_format(&mut opened.reader)
            .map_err(|e| ImportError::io(format!("reading {}", opened.name), e))?,
    };
    let reading = Reading {
        format,
        delimiter: delimiter(format, options.delimiter)?,
        null_marker: options.null_marker.clone().unwrap_or_default().into_bytes(),
        encoding,
        header: options.header.unwrap_or(true),
        bom_len: opened.bom_len,
        max_record_size: options
            .max_record_size
            .unwrap_or(options::DEFAULT_MAX_RECORD_SIZE),
        typed_staging: false,
    };
    let replay = std::mem::replace(&mut opened.replay, source::input::Replay::Unavailable);
    let (total_bytes, name) = (opened.total_bytes, opened.name.clone());
    let stream = StreamIn {
        reader: opened.reader,
        total_bytes: opened.total_bytes,
        name: opened.name,
    };

    // Staging lives in temporary tables, cached in the backend's local buffers (8 MB by
    // default): bigger buffers keep a 100 MB staging table off the disk. Only settable before
    // the session's first temporary table, so a failure is harmless and ignored.
    let _ = client.batch_execute("SET temp_buffers = '256MB'");
    let mut tx = client.transaction().map_err(db("starting the import"))?;
    // Hash aggregates for the duplicate-key check stay in memory; reset at transaction end.
    tx.batch_execute("SET LOCAL work_mem = '128MB'")
        .map_err(db("configuring the import session"))?;
    let plan = Plan {
        table: &table,
        key: key.as_deref(),
        mode,
        options,
        budget: &budget,
    };

    // Clean data from a file: typed staging and a direct merge, in a savepoint; anything the
    // server refuses sends the import back to text staging, which diagnoses every reject.
    let mut stream = Some(stream);
    let mut typed_result = None;
    if typed::worth_trying(&replay, options) {
        let typed_reading = Reading {
            typed_staging: true,
            ..reading.clone()
        };
        let mut savepoint = tx
            .savepoint("dbsage_import_typed")
            .map_err(db("starting the import"))?;
        let stream = stream.take().expect("not read yet");
        match load_and_merge(&mut savepoint, &plan, stream, &typed_reading, progress) {
            Ok(Some(result)) => {
                savepoint.commit().map_err(db("merging"))?;
                typed_result = Some(result);
            }
            Ok(None) | Err(ImportError::Database { .. } | ImportError::Io { .. }) => {
                savepoint
                    .rollback()
                    .map_err(db("rolling back typed staging"))?;
            }
            Err(error) => return Err(error),
        }
    }
    let (loaded, merged) = match typed_result {
        Some(result) => result,
        None => {
            let stream = match stream.take() {
                Some(stream) => stream,
                None => StreamIn {
                    reader: replay
                        .open()
                        .map_err(|e| ImportError::io(format!("reading {name} again"), e))?
                        .expect("the typed path needs a source it can read again"),
                    total_bytes,
                    name,
                },
            };
            load_and_merge(&mut tx, &plan, stream, &reading, progress)?
                .expect("text staging always validates")
        }
    };
    let Merged {
        counts,
        validation_rejects,
        over_budget,
        mode,
        key: merge_key,
    } = merged;
    let parse_rejects = loaded.parse_rejects.lines.len() as u64;
    let allowed = budget.allowed(loaded.source_rows);
    let rejected = parse_rejects + validation_rejects;
    let (rejects, lines) = collect_rejects(&mut tx, &loaded, options.reject_file.as_deref())?;
    if let Some(path) = &options.reject_file {
        rejectfile::write_records(path, &replay, &reading, &lines)?;
    }
    let report = ImportReport {
        source_rows: loaded.source_rows,
        inserted: counts.inserted,
        updated: counts.updated,
        unchanged: counts.unchanged,
        rejected,
        rejects,
        merged: !over_budget && !options.dry_run,
        dry_run: options.dry_run,
        mode: Some(mode),
        key: merge_key,
    };
    debug_assert!(report.reconciles(), "{report:?}");
    if over_budget {
        tx.rollback().map_err(db("rolling back"))?;
        return Err(ImportError::Rejected {
            message: format!(
                "{rejected} of {} rows rejected (error budget: {allowed}); nothing was merged into {}",
                loaded.source_rows, table.display
            ),
            report: Box::new(report),
        });
    }
    if options.dry_run {
        tx.rollback().map_err(db("rolling back the dry run"))?;
    } else {
        tx.commit().map_err(db("committing the import"))?;
    }
    Ok(report)
}

/// What every attempt at loading and merging shares.
struct Plan<'a> {
    table: &'a Table,
    key: Option<&'a [String]>,
    mode: Mode,
    options: &'a ImportOptions,
    budget: &'a Budget,
}

/// The outcome of validation and merge (or of the plan, when nothing is merged).
struct Merged {
    counts: merge::Counts,
    validation_rejects: u64,
    over_budget: bool,
    /// The mode used: a default upsert becomes an insert when the key is not in the file.
    mode: Mode,
    /// The key the rows were matched on, when it is in the file.
    key: Option<Vec<String>>,
}

/// Loads the source into staging, validates and merges. On text staging (the default) it
/// always gives a result; on typed staging ([`typed`]) only the direct merge is tried and
/// `None` means "go back to text staging" (the caller rolls back the savepoint).
fn load_and_merge(
    tx: &mut postgres::Transaction<'_>,
    plan: &Plan<'_>,
    stream: StreamIn,
    reading: &Reading,
    progress: &dyn Progress,
) -> Result<Option<(Loaded, Merged)>, ImportError> {
    let Plan {
        table,
        key,
        mut mode,
        options,
        budget,
    } = *plan;
    let typed = reading.typed_staging;
    let loaded = load::load(
        tx,
        table,
        stream,
        reading,
        &options.map,
        // Only upserts and skip-existing check duplicate keys before merging.
        key.filter(|_| mode != Mode::Insert),
        progress,
    )?;
    let key_in_file = key.filter(|k| {
        let present: Vec<&str> = loaded
            .layout
            .columns(table)
            .iter()
            .map(|(_, c)| c.name.as_str())
            .collect();
        k.iter().all(|c| present.contains(&c.as_str()))
    });
    // The default upsert on the primary key needs the key in the file (a generated id usually
    // is not): then the rows can only be inserted, and the report says so.
    if options.mode.is_none() && options.key.is_none() && key_in_file.is_none() {
        mode = Mode::Insert;
    }
    if mode != Mode::Insert && key_in_file.is_none() {
        return Err(ImportError::Usage(format!(
            "the key ({}) must be in the source for --mode {}",
            key.unwrap_or_default().join(", "),
            if mode == Mode::Upsert {
                "upsert"
            } else {
                "skip-existing"
            }
        )));
    }
    // With a unique index on the key, the merge itself detects duplicate keys (in a savepoint)
    // and they are diagnosed only then — but only where the index is sure to see every one:
    // plain inserts, and upserts into an empty table. An upsert into existing rows could let a
    // duplicate through as "unchanged" (its update condition never fires), and dry runs never
    // merge: both check up front (or prove a plain integer key unique while loading).
    let target_empty = mode == Mode::Upsert && target_is_empty(tx, table)?;
    let defer_duplicates = !options.dry_run
        && key_in_file.is_some_and(|k| table.has_unique_key(k))
        && match mode {
            Mode::Insert => true,
            Mode::Upsert => target_empty,
            Mode::SkipExisting => false,
        };
    let validator = Validator {
        table,
        layout: &loaded.layout,
        key: key_in_file,
        mode,
        defer_duplicates,
        allow_rounding: options.allow_rounding,
        typed_staging: typed,
    };
    validator.prepare(tx)?;
    let allowed = budget.allowed(loaded.source_rows);
    let parse_rejects = loaded.parse_rejects.lines.len() as u64;
    let merge_for = |validation_rejects: u64| Merge {
        table,
        layout: &loaded.layout,
        key: key_in_file,
        mode,
        valid_rows: loaded.staged_rows - validation_rejects,
        rows_query: None,
    };

    // The direct merge: when the target's own constraints refuse everything validation would
    // reject, merge straight from staging and validate only if that fails (which rolls it
    // back). Clean data then costs one pass less. Insert mode needs a unique index for its
    // existing-key check; upserts into existing rows and skip-existing check duplicate keys
    // first (the merge cannot see a duplicate whose row it leaves unchanged).
    let direct_possible = !options.dry_run
        && parse_rejects <= allowed
        && match mode {
            Mode::Insert => key_in_file.is_none_or(|k| table.has_unique_key(k)),
            Mode::Upsert | Mode::SkipExisting => true,
        };
    let direct = if direct_possible {
        let keys_checked =
            defer_duplicates || loaded.keys_proven_unique || validator.staged_keys_unique(tx)?;
        if keys_checked {
            merge_directly(tx, &validator, merge_for(0))?
        } else {
            None
        }
    } else {
        None
    };
    if typed && direct.is_none() {
        // Typed staging only serves the direct merge; validation needs text staging.
        return Ok(None);
    }

    let mut validation_rejects = 0;
    let mut over_budget = parse_rejects > allowed;
    let counts = if let Some(counts) = direct {
        counts
    } else {
        validation_rejects = validator.run(tx)?;
        if defer_duplicates && parse_rejects + validation_rejects > allowed {
            // Not merging anyway: report the duplicates too.
            validation_rejects = validator.late_duplicates(tx)?;
        }
        over_budget = parse_rejects + validation_rejects > allowed;
        if over_budget || options.dry_run {
            merge_for(validation_rejects).plan(tx)?
        } else {
            let mut savepoint = tx
                .savepoint("dbsage_import_merge")
                .map_err(db("starting the merge"))?;
            match merge_for(validation_rejects).apply(&mut savepoint) {
                Ok(counts) => {
                    savepoint.commit().map_err(db("merging"))?;
                    counts
                }
                Err(error) if defer_duplicates && is_duplicate_error(&error) => {
                    savepoint.rollback().map_err(db("merging"))?;
                    let before = validation_rejects;
                    validation_rejects = validator.late_duplicates(tx)?;
                    if validation_rejects == before {
                        // Not a duplicate inside the file (another unique index): a real failure.
                        return Err(error);
                    }
                    over_budget = parse_rejects + validation_rejects > allowed;
                    if over_budget {
                        merge_for(validation_rejects).plan(tx)?
                    } else {
                        merge_for(validation_rejects).apply(tx)?
                    }
                }
                Err(error) => return Err(error),
            }
        }
    };
    Ok(Some((
        loaded,
        Merged {
            counts,
            validation_rejects,
            over_budget,
            mode,
            key: key_in_file.map(<[String]>::to_vec),
        },
    )))
}

/// Tries the merge straight from staging in a savepoint; `None` (rolled back) when the server
/// refused any row, so the full validation can say which and why.
fn merge_directly(
    tx: &mut postgres::Transaction<'_>,
    validator: &Validator<'_>,
    merge: Merge<'_>,
) -> Result<Option<merge::Counts>, ImportError> {
    let mut savepoint = tx
        .savepoint("dbsage_import_direct")
        .map_err(db("starting the merge"))?;
    // Deferred foreign keys are checked at the end of the merge statement, inside the
    // savepoint, instead of at commit where a failure could no longer be diagnosed.
    savepoint
        .batch_execute("SET CONSTRAINTS ALL IMMEDIATE")
        .map_err(db("starting the merge"))?;
    let merge = Merge {
        rows_query: Some(validator.direct_rows(&mut savepoint)?),
        ..merge
    };
    match merge.apply(&mut savepoint) {
        Ok(counts) => {
            savepoint.commit().map_err(db("merging"))?;
            Ok(Some(counts))
        }
        Err(ImportError::Database { source, .. }) if source.as_db_error().is_some() => {
            savepoint.rollback().map_err(db("merging"))?;
            Ok(None)
        }
        Err(error) => Err(error),
    }
}

fn target_is_empty(tx: &mut postgres::Transaction<'_>, table: &Table) -> Result<bool, ImportError> {
    let row = tx
        .query_one(
            &format!("SELECT NOT EXISTS (SELECT 1 FROM {})", table.qualified),
            &[],
        )
        .map_err(db("looking at the target"))?;
    Ok(row.get(0))
}

/// The errors a merge raises for a key that appears twice among the merged rows: "MERGE (or ON
/// CONFLICT DO UPDATE) command cannot affect row a second time" (21000) or a unique violation
/// (23505).
fn is_duplicate_error(error: &ImportError) -> bool {
    match error {
        ImportError::Database { source, .. } => source.code().is_some_and(|c| {
            *c == postgres::error::SqlState::CARDINALITY_VIOLATION
                || *c == postgres::error::SqlState::UNIQUE_VIOLATION
        }),
        _ => false,
    }
}

/// The error budget: `--max-errors N` or `--max-error-ratio R`, default 0 (all or nothing).
struct Budget {
    max_errors: Option<u64>,
    max_ratio: Option<f64>,
}

impl Budget {
    fn from_options(options: &ImportOptions) -> Result<Budget, ImportError> {
        if options.max_errors.is_some() && options.max_error_ratio.is_some() {
            return Err(ImportError::Usage(
                "give either --max-errors or --max-error-ratio, not both".into(),
            ));
        }
        if let Some(r) = options.max_error_ratio {
            if !(0.0..=1.0).contains(&r) {
                return Err(ImportError::Usage(format!(
                    "--max-error-ratio must be between 0 and 1, not {r}"
                )));
            }
        }
        Ok(Budget {
            max_errors: options.max_errors,
            max_ratio: options.max_error_ratio,
        })
    }

    fn allowed(&self, source_rows: u64) -> u64 {
        match (self.max_errors, self.max_ratio) {
            (Some(n), _) => n,
            (None, Some(r)) => (r * source_rows as f64).floor() as u64,
            (None, None) => 0,
        }
    }
}

/// The key defaults to the primary key; the mode to upsert when there is a key (given or the
/// primary key), else insert: a re-run of the same file then changes nothing.
fn key_and_mode(
    table: &Table,
    options: &ImportOptions,
) -> Result<(Option<Vec<String>>, Mode), ImportError> {
    let mode = options
        .mode
        .unwrap_or(if options.key.is_some() || table.primary_key.is_some() {
            Mode::Upsert
        } else {
            Mode::Insert
        });
    let key = match &options.key {
        Some(k) => {
            if k.is_empty() {
                return Err(ImportError::Usage("--key needs at least one column".into()));
            }
            for c in k {
                if table.column(c).is_none() {
                    return Err(ImportError::Usage(format!(
                        "--key {c:?}: {} has no such column (columns: {})",
                        table.display,
                        table.column_names()
                    )));
                }
            }
            Some(k.clone())
        }
        None => table.primary_key.clone(),
    };
    if mode != Mode::Insert {
        let Some(k) = &key else {
            return Err(ImportError::Usage(format!(
                "{} has no primary key: give --key col[,col] for --mode upsert or skip-existing",
                table.display
            )));
        };
        if !table.has_unique_key(k) {
            return Err(ImportError::Usage(format!(
                "no unique index or constraint on exactly ({}) in {}: ON CONFLICT needs one \
                 (unique keys: {})",
                k.join(", "),
                table.display,
                if table.unique_keys.is_empty() {
                    "none".to_string()
                } else {
                    table
                        .unique_keys
                        .iter()
                        .map(|u| format!("({})", u.join(", ")))
                        .collect::<Vec<_>>()
                        .join(", ")
                }
            )));
        }
    }
    Ok((key, mode))
}

fn delimiter(format: Format, given: Option<u8>) -> Result<u8, ImportError> {
    let d = given.unwrap_or(if format == Format::Tsv { b'\t' } else { b',' });
    if matches!(d, b'"' | b'\n' | b'\r') {
        return Err(ImportError::Usage(format!(
            "{:?} cannot be the delimiter",
            d as char
        )));
    }
    Ok(d)
}

/// `None` for UTF-8 (validated client-side with byte offsets); otherwise a PostgreSQL encoding
/// name for COPY's ENCODING option. Encodings whose multibyte characters can contain ASCII
/// bytes (a `"` or `\` inside a Shift-JIS character) cannot be split safely and are refused.
fn resolve_encoding(
    client: &mut Client,
    given: Option<&str>,
) -> Result<Option<String>, ImportError> {
    let Some(name) = given else { return Ok(None) };
    let normalized: String = name
        .chars()
        .filter(|c| *c != '-' && *c != '_')
        .collect::<String>()
        .to_uppercase();
    if normalized == "UTF8" {
        return Ok(None);
    }
    if [
        "SJIS", "SHIFTJIS", "BIG5", "GBK", "UHC", "GB18030", "JOHAB", "CP932", "CP936", "CP949",
        "CP950",
    ]
    .contains(&normalized.as_str())
        || normalized.starts_with("UTF16")
        || normalized.starts_with("UTF32")
        || normalized.starts_with("UCS")
    {
        return Err(ImportError::Usage(format!(
            "encoding {name} is not supported: convert the file to UTF-8 first (iconv -f {name} -t UTF-8)"
        )));
    }
    let row = client
        .query_one("SELECT pg_char_to_encoding($1) >= 0", &[&name])
        .map_err(db("checking the encoding"))?;
    if !row.get::<_, bool>(0) {
        return Err(ImportError::Usage(format!(
            "unknown encoding {name:?} (PostgreSQL names such as LATIN1, WIN1252, EUC_JP)"
        )));
    }
    Ok(Some(name.to_string()))
}

/// Merges parse-phase rejects (in memory) with validation rejects (in the database) in line
/// order: the first [`LISTED_REJECTS`] go into the report, all of them into the `.log`, and
/// every rejected line into the list the reject file is cut from.
fn collect_rejects(
    tx: &mut postgres::Transaction<'_>,
    loaded: &Loaded,
    reject_file: Option<&std::path::Path>,
) -> Result<(Vec<Reject>, Vec<u64>), ImportError> {
    let mut log = reject_file.map(rejectfile::LogWriter::create).transpose()?;
    let mut listed = Vec::new();
    let mut lines = Vec::new();
    let keep = |reject: Reject,
                listed: &mut Vec<Reject>,
                lines: &mut Vec<u64>,
                log: &mut Option<rejectfile::LogWriter>|
     -> Result<(), ImportError> {
        if lines.last() != Some(&reject.line) {
            lines.push(reject.line);
        }
        if let Some(log) = log {
            log.add(&reject)?;
        }
        if listed.len() < LISTED_REJECTS {
            listed.push(reject);
        }
        Ok(())
    };
    let mut parse = loaded.parse_rejects.details.iter().cloned().peekable();
    let mut parse_lines_beyond_details = loaded
        .parse_rejects
        .lines
        .iter()
        .skip(loaded.parse_rejects.details.len())
        .copied();
    let empty: [&(dyn postgres::types::ToSql + Sync); 0] = [];
    let mut rows = tx
        .query_raw(
            &format!("SELECT line, col, val, reason FROM {REJECTS} ORDER BY line, col, reason"),
            empty,
        )
        .map_err(db("reading rejects"))?;
    while let Some(row) = rows.next().map_err(db("reading rejects"))? {
        let reject = Reject {
            line: row.get::<_, i64>(0) as u64,
            column: row.get(1),
            value: row.get::<_, Option<String>>(2).map(|v| report::shorten(&v)),
            reason: row.get(3),
        };
        while parse.peek().is_some_and(|p| p.line < reject.line) {
            keep(parse.next().unwrap(), &mut listed, &mut lines, &mut log)?;
        }
        keep(reject, &mut listed, &mut lines, &mut log)?;
    }
    for reject in parse {
        keep(reject, &mut listed, &mut lines, &mut log)?;
    }
    if let Some(log) = log {
        log.finish()?;
    }
    // Parse rejects beyond the kept details still need their records in the reject file.
    let extra: Vec<u64> = parse_lines_beyond_details.by_ref().collect();
    if !extra.is_empty() {
        lines.extend(extra);
        lines.sort_unstable();
        lines.dedup();
    }
    Ok((listed, lines))
}
