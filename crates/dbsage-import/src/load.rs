//! Steps 1 and 2 of the pipeline: stream the source client-side into a session-temporary,
//! all-text staging table with `COPY … FROM STDIN`.
//!
//! Staging columns are text (`c1`, `c2`, … — never names from the file) so COPY cannot fail on a
//! bad value: every row lands, and validation then finds every problem at once instead of COPY
//! stopping at the first. (The typed path, [`crate::typed`], stages the target's types instead
//! and falls back to text when COPY fails.) Records that cannot be decoded at all (unterminated quotes, wrong
//! field counts, invalid UTF-8, NUL bytes, non-objects) are rejected here and never staged.

use std::collections::{BTreeSet, HashMap};

use memchr::memchr;
use postgres::Transaction;

use crate::catalog::{Column, Table};
use crate::copy_text::CopyBuffer;
use crate::error::{db, ImportError};
use crate::ident::quote;
use crate::keyproof::KeyProof;
use crate::options::{Format, Progress};
use crate::report::{shorten, Reject};
use crate::source::delimited::{self, Fields};
use crate::source::framing::{
    strip_line_end, CsvFramer, Framer, JsonArrayFramer, LineFramer, RawRecord,
};
use crate::source::json;

pub const STAGING: &str = "pg_temp.dbsage_import_staging";
/// The staged rows' source line; chosen to never clash with a real column in practice, and
/// checked against the target's columns.
pub const LINE: &str = "dbsage_import_line";

/// Parse-phase reject details kept in memory; all lines are kept regardless (8 bytes each).
const KEPT_DETAILS: usize = 10_000;

/// Reading options with every default resolved.
#[derive(Debug, Clone)]
pub struct Reading {
    pub format: Format,
    pub delimiter: u8,
    /// An unquoted field equal to this is NULL.
    pub null_marker: Vec<u8>,
    /// PostgreSQL encoding name, `None` for UTF-8 (validated client-side).
    pub encoding: Option<String>,
    pub header: bool,
    /// Bytes of byte-order mark skipped, for absolute byte offsets.
    pub bom_len: u64,
    /// Longer records are rejected without being held in memory.
    pub max_record_size: u64,
    /// Stage into the target's types instead of text ([`crate::typed`]): COPY then fails on
    /// the first bad value.
    pub typed_staging: bool,
}

/// Which target column each staging column feeds.
#[derive(Debug, Clone)]
pub struct Layout {
    /// Target column index for staging column `c{i+1}`.
    pub staged: Vec<usize>,
    /// Whether staging column `c{i+1}` carries data (JSON: its key appeared somewhere).
    pub present: Vec<bool>,
}

impl Layout {
    /// `(staging column name, target column)` for the columns the import writes.
    pub fn columns<'t>(&self, table: &'t Table) -> Vec<(String, &'t Column)> {
        self.staged
            .iter()
            .enumerate()
            .filter(|(i, _)| self.present[*i])
            .map(|(i, &c)| (format!("c{}", i + 1), &table.columns[c]))
            .collect()
    }
}

#[derive(Debug, Default)]
pub struct ParseRejects {
    pub details: Vec<Reject>,
    pub lines: Vec<u64>,
}

impl ParseRejects {
    fn add(&mut self, reject: Reject) {
        if self.lines.last() != Some(&reject.line) {
            self.lines.push(reject.line);
        }
        if self.details.len() < KEPT_DETAILS {
            self.details.push(reject);
        }
    }
}

pub struct Loaded {
    pub layout: Layout,
    pub source_rows: u64,
    pub staged_rows: u64,
    pub parse_rejects: ParseRejects,
    /// The key was proven unique among the staged rows while streaming ([`KeyProof`]).
    pub keys_proven_unique: bool,
}

pub fn framer_for(
    format: Format,
    reader: Box<dyn std::io::BufRead + Send>,
    max_record_size: u64,
) -> Box<dyn Framer> {
    match format {
        Format::Csv | Format::Tsv => Box::new(CsvFramer::new(reader, max_record_size)),
        Format::Ndjson => Box::new(LineFramer::new(reader, max_record_size)),
        Format::Json => Box::new(JsonArrayFramer::new(reader, max_record_size)),
    }
}

/// The stream half of an opened source (the replay half stays with the caller).
pub struct StreamIn {
    pub reader: Box<dyn std::io::BufRead + Send>,
    pub total_bytes: Option<u64>,
    pub name: String,
}

pub fn load(
    tx: &mut Transaction<'_>,
    table: &Table,
    source: StreamIn,
    reading: &Reading,
    map: &[(String, String)],
    key: Option<&[String]>,
    progress: &dyn Progress,
) -> Result<Loaded, ImportError> {
    if table.column(LINE).is_some() {
        return Err(ImportError::Usage(format!(
            "{} has a column named {LINE}, which dbsage import reserves for line numbers",
            table.display
        )));
    }
    let total_bytes = source.total_bytes;
    let name = source.name.clone();
    let mut framer = framer_for(reading.format, source.reader, reading.max_record_size);
    // The JSON array framer reports a file that is not JSON as InvalidData, with its position.
    let read_error = |e: std::io::Error| match e.kind() {
        std::io::ErrorKind::InvalidData => ImportError::Parse(format!("{name}: {e}")),
        _ => ImportError::io(format!("reading {name}"), e),
    };
    let mut record = RawRecord::default();
    let mut fields = Fields::default();

    let mut first_record = framer.next(&mut record).map_err(read_error)?;
    if !first_record {
        return Err(ImportError::EmptyInput(format!(
            "{name} is empty: there is nothing to import (not even a header)"
        )));
    }
    let mut layout = if reading.format.is_delimited() {
        if reading.header {
            let names = header_names(&record, reading, &mut fields)?;
            first_record = false;
            Layout {
                present: vec![true; names.len()],
                staged: resolve_names(&names, table, map, &name)?,
            }
        } else {
            if !map.is_empty() {
                return Err(ImportError::Usage(
                    "--map renames header columns, but the source has no header (--no-header)"
                        .into(),
                ));
            }
            let staged: Vec<usize> = (0..table.columns.len())
                .filter(|&i| !table.columns[i].generated)
                .collect();
            Layout {
                present: vec![true; staged.len()],
                staged,
            }
        }
    } else {
        let staged: Vec<usize> = (0..table.columns.len())
            .filter(|&i| !table.columns[i].generated)
            .collect();
        Layout {
            present: vec![false; staged.len()],
            staged,
        }
    };

    let staging_types: Vec<&str> = layout
        .staged
        .iter()
        .map(|&c| match reading.typed_staging {
            true => crate::typed::staging_type(&table.columns[c]),
            false => "text",
        })
        .collect();
    create_staging(tx, &staging_types)?;
    let mut copy_sql = format!("COPY {STAGING} FROM STDIN WITH (FORMAT text, FREEZE");
    if let Some(encoding) = &reading.encoding {
        copy_sql.push_str(&format!(", ENCODING {}", crate::ident::literal(encoding)));
    }
    copy_sql.push(')');
    let writer = tx
        .copy_in(&copy_sql)
        .map_err(db("starting COPY into staging"))?;
    let mut out = CopyBuffer::new(writer);

    let mut key_proof = KeyProof::for_key(table, &layout, key);
    let json_keys = json_key_lookup(table, &layout, map);
    let mut unknown_keys = BTreeSet::new();
    let mut rejects = ParseRejects::default();
    let mut source_rows = 0u64;
    let mut staged_rows = 0u64;
    let width = layout.staged.len();
    let mut any_json_parsed = false;
    let write_error = |e: std::io::Error| ImportError::io("streaming rows to the server", e);

    loop {
        if !first_record && !framer.next(&mut record).map_err(read_error)? {
            break;
        }
        first_record = false;
        source_rows += 1;
        if source_rows % 8192 == 0 {
            progress.on_progress(source_rows, framer.offset(), total_bytes);
        }
        if let Some(reason) = &record.broken {
            rejects.add(Reject {
                line: record.line,
                column: None,
                value: None,
                reason: reason.clone(),
            });
            continue;
        }
        if let Some(reason) = undecodable(&record, reading) {
            rejects.add(Reject {
                line: record.line,
                column: None,
                value: None,
                reason,
            });
            continue;
        }
        if reading.format.is_delimited() {
            delimited::split(&record.bytes, reading.delimiter, &mut fields);
            if fields.len() != width {
                rejects.add(Reject {
                    line: record.line,
                    column: None,
                    value: None,
                    reason: format!(
                        "expected {width} fields, found {} (check the delimiter and quoting)",
                        fields.len()
                    ),
                });
                continue;
            }
            out.start_row(record.line);
            for i in 0..width {
                let (value, quoted) = fields.get(i);
                if !quoted && value == reading.null_marker.as_slice() {
                    out.null();
                } else {
                    out.value(value);
                }
            }
            if let Some(proof) = &mut key_proof {
                let (value, quoted) = fields.get(proof.slot);
                proof.add((quoted || value != reading.null_marker.as_slice()).then_some(value));
            }
            out.end_row().map_err(write_error)?;
        } else {
            let object = match json::parse_object(strip_line_end(&record.bytes)) {
                Ok(o) => o,
                Err(problem) => {
                    let reason = problem.reason(record.line, record.column);
                    if !any_json_parsed && matches!(problem, json::NotAnObject::Syntax { .. }) {
                        // Not one record parses: the source is not JSON (a CSV read as JSON).
                        return Err(ImportError::Parse(format!(
                            "{name} is not {}: {reason} (give --format csv or tsv if it is \
                             delimited text)",
                            if reading.format == Format::Json {
                                "a JSON array"
                            } else {
                                "NDJSON (one JSON object per line)"
                            }
                        )));
                    }
                    rejects.add(Reject {
                        line: record.line,
                        column: None,
                        value: None,
                        reason,
                    });
                    continue;
                }
            };
            any_json_parsed = true;
            let mut json_values: Vec<Option<std::borrow::Cow<'_, str>>> = vec![None; width];
            let mut problem = None;
            for (key, value) in &object {
                let Some(&slot) = json_keys.get(key.as_str()) else {
                    if unknown_keys.len() < 100 {
                        unknown_keys.insert(key.clone());
                    }
                    continue;
                };
                let column = &table.columns[layout.staged[slot]];
                layout.present[slot] = true;
                match json::column_text(value, column) {
                    Ok(text) => json_values[slot] = text,
                    Err(reason) => {
                        problem = Some(Reject {
                            line: record.line,
                            column: Some(column.name.clone()),
                            value: Some(shorten(value.get())),
                            reason,
                        });
                        break;
                    }
                }
            }
            if let Some(reject) = problem {
                rejects.add(reject);
                continue;
            }
            out.start_row(record.line);
            for value in &json_values {
                match value {
                    None => out.null(),
                    Some(text) => out.value(text.as_bytes()),
                }
            }
            if let Some(proof) = &mut key_proof {
                proof.add(json_values[proof.slot].as_deref().map(str::as_bytes));
            }
            out.end_row().map_err(write_error)?;
        }
        staged_rows += 1;
    }
    let writer = out.finish().map_err(write_error)?;
    writer.finish().map_err(db("loading the staging table"))?;
    progress.on_progress(source_rows, framer.offset(), total_bytes);

    if !unknown_keys.is_empty() {
        let keys: Vec<String> = unknown_keys.iter().map(|k| format!("{k:?}")).collect();
        return Err(ImportError::Usage(format!(
            "unknown keys in {name}: {}. {} has columns: {}. Use --map key=column to rename.",
            keys.join(", "),
            table.display,
            table.column_names()
        )));
    }
    check_required_present(table, &layout)?;
    Ok(Loaded {
        layout,
        source_rows,
        staged_rows,
        parse_rejects: rejects,
        keys_proven_unique: key_proof.is_some_and(KeyProof::proven_unique),
    })
}

/// Record-level problems found without decoding: invalid UTF-8 (with its byte offset) and
/// NUL bytes (PostgreSQL text cannot hold them, and COPY would abort on the first).
fn undecodable(record: &RawRecord, reading: &Reading) -> Option<String> {
    if reading.encoding.is_none() {
        if let Err(e) = std::str::from_utf8(&record.bytes) {
            let offset = reading.bom_len + record.offset + e.valid_up_to() as u64;
            return Some(format!(
                "invalid UTF-8 at byte offset {offset} (use --encoding if the file is not UTF-8)"
            ));
        }
    }
    if let Some(i) = memchr(0, &record.bytes) {
        let offset = reading.bom_len + record.offset + i as u64;
        return Some(format!(
            "NUL byte at byte offset {offset}: PostgreSQL text cannot contain it"
        ));
    }
    None
}

fn header_names(
    record: &RawRecord,
    reading: &Reading,
    fields: &mut Fields,
) -> Result<Vec<String>, ImportError> {
    if let Some(reason) = &record.broken {
        return Err(ImportError::Usage(format!(
            "the header is unreadable: {reason}"
        )));
    }
    delimited::split(&record.bytes, reading.delimiter, fields);
    (0..fields.len())
        .map(|i| {
            let (bytes, _) = fields.get(i);
            String::from_utf8(bytes.to_vec()).map_err(|_| {
                ImportError::Usage(format!("header column {} is not valid UTF-8", i + 1))
            })
        })
        .collect()
}

/// Maps header names (after `--map`) to target columns: exact name first, then a unique
/// case-insensitive match. Unknown names are a usage error that lists the target's columns.
fn resolve_names(
    names: &[String],
    table: &Table,
    map: &[(String, String)],
    source_name: &str,
) -> Result<Vec<usize>, ImportError> {
    for (from, _) in map {
        if !names.contains(from) {
            return Err(ImportError::Usage(format!(
                "--map {from}=…: {source_name} has no column {from:?} (its header: {})",
                names.join(", ")
            )));
        }
    }
    let mut unknown = Vec::new();
    let mut staged = Vec::new();
    for name in names {
        let target = map
            .iter()
            .find(|(from, _)| from == name)
            .map(|(_, to)| to.as_str())
            .unwrap_or(name);
        match find_column(table, target) {
            Some(i) => staged.push(i),
            None => unknown.push(format!("{target:?}")),
        }
    }
    if !unknown.is_empty() {
        return Err(ImportError::Usage(format!(
            "unknown columns in the header of {source_name}: {}. {} has columns: {}. Use --map \
             name=column to rename a column.",
            unknown.join(", "),
            table.display,
            table.column_names()
        )));
    }
    for (i, &c) in staged.iter().enumerate() {
        let column = &table.columns[c];
        if column.generated {
            return Err(ImportError::Usage(format!(
                "column {:?} is a generated column: it cannot be imported (drop it from the file)",
                column.name
            )));
        }
        if staged[..i].contains(&c) {
            return Err(ImportError::Usage(format!(
                "column {:?} appears twice in the header of {source_name}",
                column.name
            )));
        }
    }
    Ok(staged)
}

fn find_column(table: &Table, name: &str) -> Option<usize> {
    if let Some(i) = table.columns.iter().position(|c| c.name == name) {
        return Some(i);
    }
    let folded = name.trim().to_lowercase();
    let matches: Vec<usize> = (0..table.columns.len())
        .filter(|&i| table.columns[i].name.to_lowercase() == folded)
        .collect();
    (matches.len() == 1).then(|| matches[0])
}

/// JSON keys (and `--map` sources) to staging slots.
fn json_key_lookup(
    table: &Table,
    layout: &Layout,
    map: &[(String, String)],
) -> HashMap<String, usize> {
    let mut lookup = HashMap::new();
    for (slot, &c) in layout.staged.iter().enumerate() {
        let name = &table.columns[c].name;
        lookup.insert(name.clone(), slot);
        for (from, to) in map {
            if to == name {
                lookup.insert(from.clone(), slot);
            }
        }
    }
    lookup
}

fn check_required_present(table: &Table, layout: &Layout) -> Result<(), ImportError> {
    let provided: Vec<usize> = layout
        .staged
        .iter()
        .zip(&layout.present)
        .filter(|(_, &p)| p)
        .map(|(&c, _)| c)
        .collect();
    let missing: Vec<String> = table
        .columns
        .iter()
        .enumerate()
        .filter(|(i, c)| c.required() && !provided.contains(i))
        .map(|(_, c)| format!("{:?}", c.name))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    Err(ImportError::Usage(format!(
        "missing required columns: {} ({} declares them NOT NULL without a default). The source \
         must provide them (use --map name=column if they are named differently).",
        missing.join(", "),
        table.display
    )))
}

fn create_staging(tx: &mut Transaction<'_>, types: &[&str]) -> Result<(), ImportError> {
    let mut sql = format!("CREATE TEMP TABLE {STAGING} ({} bigint", quote(LINE));
    for (i, type_name) in types.iter().enumerate() {
        sql.push_str(&format!(", c{} {type_name}", i + 1));
    }
    sql.push_str(") ON COMMIT DROP");
    tx.batch_execute(&sql)
        .map_err(db("creating the staging table"))
}
