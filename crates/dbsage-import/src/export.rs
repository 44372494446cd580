//! `dbsage export`: a table or a query streamed out with `COPY … TO STDOUT`, as CSV/TSV (with a
//! header; NULL as an empty unquoted field, the empty string as `""`, exactly what `import`
//! reads back) or as NDJSON/JSON built by the server with `row_to_json` (exact numerics, ISO
//! timestamps). Memory stays bounded: rows are passed through as they arrive.

use std::io::{BufRead, Write};

use postgres::Client;

use crate::catalog::describe;
use crate::error::{db, ImportError};
use crate::ident::quote;
use crate::options::{ExportSource, Format};

/// Writes the rows to `out`; returns how many rows were written.
pub fn export(
    client: &mut Client,
    what: ExportSource,
    format: Format,
    out: &mut dyn Write,
) -> Result<u64, ImportError> {
    let relation = match &what {
        ExportSource::Table(name) => {
            let table = describe(client, name)?;
            let columns = table
                .insertable()
                .map(|c| quote(&c.name))
                .collect::<Vec<_>>()
                .join(", ");
            format!("SELECT {columns} FROM {}", table.qualified)
        }
        ExportSource::Query(sql) => {
            let trimmed = sql.trim().trim_end_matches(';').trim_end();
            if trimmed.is_empty() {
                return Err(ImportError::Usage("--query is empty".into()));
            }
            trimmed.to_string()
        }
    };
    let write_error = |e| ImportError::io("writing the export", e);
    match format {
        Format::Csv | Format::Tsv => {
            let delimiter = if format == Format::Tsv {
                ", DELIMITER E'\\t'"
            } else {
                ""
            };
            let sql = format!("COPY ({relation}) TO STDOUT WITH (FORMAT csv, HEADER{delimiter})");
            let mut reader = client.copy_out(&sql).map_err(db("starting the export"))?;
            let mut records = 0u64;
            let mut in_quotes = false;
            loop {
                let buf = reader
                    .fill_buf()
                    .map_err(|e| ImportError::io("reading the export from the server", e))?;
                if buf.is_empty() {
                    break;
                }
                for &b in buf {
                    if b == b'"' {
                        in_quotes = !in_quotes;
                    } else if b == b'\n' && !in_quotes {
                        records += 1;
                    }
                }
                out.write_all(buf).map_err(write_error)?;
                let n = buf.len();
                reader.consume(n);
            }
            Ok(records.saturating_sub(1))
        }
        Format::Ndjson | Format::Json => {
            let sql = format!(
                "COPY (SELECT row_to_json(dbsage_export_row)::text FROM ({relation}) dbsage_export_row) TO STDOUT"
            );
            let mut reader = client.copy_out(&sql).map_err(db("starting the export"))?;
            let array = format == Format::Json;
            if array {
                out.write_all(b"[").map_err(write_error)?;
            }
            let mut line = Vec::new();
            let mut json = Vec::new();
            let mut rows = 0u64;
            loop {
                line.clear();
                let n = reader
                    .read_until(b'\n', &mut line)
                    .map_err(|e| ImportError::io("reading the export from the server", e))?;
                if n == 0 {
                    break;
                }
                unescape_json_line(&line, &mut json);
                if array {
                    out.write_all(if rows == 0 { b"\n" } else { b",\n" })
                        .map_err(write_error)?;
                    out.write_all(&json).map_err(write_error)?;
                } else {
                    out.write_all(&json).map_err(write_error)?;
                    out.write_all(b"\n").map_err(write_error)?;
                }
                rows += 1;
            }
            if array {
                out.write_all(b"\n]\n").map_err(write_error)?;
            }
            Ok(rows)
        }
    }
}

/// Undoes COPY text escaping of one JSON document. Raw newlines can only be whitespace in JSON
/// (strings escape them), so they become spaces and each document stays on one line.
fn unescape_json_line(line: &[u8], out: &mut Vec<u8>) {
    out.clear();
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    let mut i = 0;
    while i < line.len() {
        let b = line[i];
        if b == b'\\' && i + 1 < line.len() {
            i += 1;
            out.push(match line[i] {
                b'n' | b'r' => b' ',
                b't' => b'\t',
                b'b' => 0x08,
                b'f' => 0x0c,
                b'v' => 0x0b,
                other => other,
            });
        } else {
            out.push(b);
        }
        i += 1;
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn unescapes_copy_text() {
        let mut out = Vec::new();
        super::unescape_json_line(br#"{"a":"x\\\\y",\n"b":1}"#, &mut out);
        assert_eq!(out, br#"{"a":"x\\y", "b":1}"#.to_vec());
    }
}
