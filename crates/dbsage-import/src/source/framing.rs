//! Cutting a byte stream into raw records without interpreting them.
//!
//! CSV follows PostgreSQL's rule: a `"` anywhere toggles quoting (a doubled `""` toggles twice),
//! and a newline outside quotes ends the record, so a quoted field may span lines and the record
//! is reported at the line where it starts. NDJSON records are lines. A JSON array's records are
//! its elements, found by tracking strings and nesting depth.

use std::io::{self, BufRead};

use memchr::{memchr, memchr2, memrchr};

/// One record as it appears in the source.
#[derive(Debug, Default)]
pub struct RawRecord {
    /// 1-based line where the record starts.
    pub line: u64,
    /// Byte offset of the record's first byte in the source (after a BOM).
    pub offset: u64,
    /// The original bytes, including the line end (CSV, NDJSON).
    pub bytes: Vec<u8>,
    /// 1-based byte column where the record starts (JSON array elements; 1 otherwise).
    pub column: u64,
    /// The record's length in the source; `bytes` holds it all unless `oversized`.
    pub len: u64,
    /// Longer than the framer's limit: `bytes` was not kept (memory stays bounded), `broken`
    /// says why, and the original bytes are at `offset..offset + len` in the source.
    pub oversized: bool,
    /// Why the record cannot be decoded even in principle (unterminated quote or JSON value).
    pub broken: Option<String>,
}

impl RawRecord {
    fn start(&mut self, line: u64, column: u64, offset: u64) {
        self.bytes.clear();
        self.broken = None;
        self.line = line;
        self.column = column;
        self.offset = offset;
        self.len = 0;
        self.oversized = false;
    }

    /// Appends a piece of the record, or only counts it once the record is over `max`.
    fn push(&mut self, piece: &[u8], max: u64) {
        self.len += piece.len() as u64;
        if self.oversized {
            return;
        }
        if self.len > max {
            self.oversized = true;
            self.bytes.clear();
            self.bytes.shrink_to(64 * 1024);
        } else {
            self.bytes.extend_from_slice(piece);
        }
    }

    /// Marks an oversized record as broken, once it is complete.
    fn finish(&mut self, max: u64) {
        if self.oversized {
            self.broken = Some(format!(
                "record of {} bytes is larger than the limit of {} bytes (--max-record-size); \
                 it was skipped without being read into memory",
                self.len, max
            ));
        }
    }
}

/// A JSON source that is not JSON: where and why, for an error that points at it.
pub fn json_syntax_error(line: u64, column: u64, message: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("invalid JSON at line {line}, column {column}: {message}"),
    )
}

/// Splits a source into records. `next` reuses `record`'s buffer; false at the end.
pub trait Framer {
    fn next(&mut self, record: &mut RawRecord) -> io::Result<bool>;
    /// Bytes consumed so far (for progress).
    fn offset(&self) -> u64;
}

pub struct CsvFramer<R> {
    input: R,
    line: u64,
    offset: u64,
    quote: u8,
    max: u64,
}

impl<R: BufRead> CsvFramer<R> {
    pub fn new(input: R, max: u64) -> Self {
        CsvFramer {
            input,
            line: 1,
            offset: 0,
            quote: b'"',
            max,
        }
    }
}

impl<R: BufRead> Framer for CsvFramer<R> {
    fn next(&mut self, record: &mut RawRecord) -> io::Result<bool> {
        loop {
            record.start(self.line, 1, self.offset);
            let mut in_quotes = false;
            let mut ended = false;
            loop {
                let buf = self.input.fill_buf()?;
                if buf.is_empty() {
                    break;
                }
                let mut pos = 0;
                while pos < buf.len() {
                    match memchr2(self.quote, b'\n', &buf[pos..]) {
                        None => {
                            pos = buf.len();
                        }
                        Some(i) => {
                            pos += i + 1;
                            if buf[pos - 1] == b'\n' {
                                self.line += 1;
                                if !in_quotes {
                                    ended = true;
                                    break;
                                }
                            } else {
                                in_quotes = !in_quotes;
                            }
                        }
                    }
                }
                record.push(&buf[..pos], self.max);
                self.input.consume(pos);
                self.offset += pos as u64;
                if ended {
                    break;
                }
            }
            if record.len == 0 {
                return Ok(false);
            }
            record.finish(self.max);
            if in_quotes && !record.oversized {
                record.broken = Some(
                    "unterminated quoted field: a quote opened in this record is never closed \
                     (the record runs to the end of the file)"
                        .to_string(),
                );
            }
            // Blank lines are not records (a trailing empty line is common).
            if record.bytes == b"\n" || record.bytes == b"\r\n" {
                continue;
            }
            return Ok(true);
        }
    }

    fn offset(&self) -> u64 {
        self.offset
    }
}

pub struct LineFramer<R> {
    input: R,
    line: u64,
    offset: u64,
    max: u64,
}

impl<R: BufRead> LineFramer<R> {
    pub fn new(input: R, max: u64) -> Self {
        LineFramer {
            input,
            line: 1,
            offset: 0,
            max,
        }
    }
}

impl<R: BufRead> Framer for LineFramer<R> {
    fn next(&mut self, record: &mut RawRecord) -> io::Result<bool> {
        loop {
            record.start(self.line, 1, self.offset);
            let mut blank = true;
            loop {
                let buf = self.input.fill_buf()?;
                if buf.is_empty() {
                    break;
                }
                let (take, ended) = match memchr(b'\n', buf) {
                    Some(i) => (i + 1, true),
                    None => (buf.len(), false),
                };
                blank = blank && buf[..take].iter().all(|b| b.is_ascii_whitespace());
                record.push(&buf[..take], self.max);
                self.input.consume(take);
                self.offset += take as u64;
                if ended {
                    break;
                }
            }
            if record.len == 0 {
                return Ok(false);
            }
            self.line += 1;
            if blank {
                continue;
            }
            record.finish(self.max);
            return Ok(true);
        }
    }

    fn offset(&self) -> u64 {
        self.offset
    }
}

/// The elements of one top-level JSON array, each as its own raw record. Structure outside
/// the elements (no `[`, content after `]`) is a syntax error with line and column, not a
/// record: such a file is not what it claims to be.
pub struct JsonArrayFramer<R> {
    input: R,
    line: u64,
    offset: u64,
    /// Offset of the current line's first byte (for columns).
    line_start: u64,
    state: ArrayState,
    max: u64,
}

#[derive(Debug, PartialEq, Eq)]
enum ArrayState {
    BeforeOpen,
    InArray,
    Done,
}

impl<R: BufRead> JsonArrayFramer<R> {
    pub fn new(input: R, max: u64) -> Self {
        JsonArrayFramer {
            input,
            line: 1,
            offset: 0,
            line_start: 0,
            state: ArrayState::BeforeOpen,
            max,
        }
    }

    fn column(&self) -> u64 {
        self.offset - self.line_start + 1
    }

    fn peek(&mut self) -> io::Result<Option<u8>> {
        Ok(self.input.fill_buf()?.first().copied())
    }

    fn bump(&mut self) {
        if let Ok(buf) = self.input.fill_buf() {
            if let Some(&b) = buf.first() {
                self.input.consume(1);
                self.offset += 1;
                if b == b'\n' {
                    self.line += 1;
                    self.line_start = self.offset;
                }
            }
        }
    }

    fn skip_whitespace(&mut self) -> io::Result<()> {
        while let Some(b) = self.peek()? {
            if !b.is_ascii_whitespace() {
                break;
            }
            self.bump();
        }
        Ok(())
    }

    fn syntax_error(&self, message: &str) -> io::Error {
        json_syntax_error(self.line, self.column(), message)
    }
}

impl<R: BufRead> Framer for JsonArrayFramer<R> {
    fn next(&mut self, record: &mut RawRecord) -> io::Result<bool> {
        record.start(self.line, self.column(), self.offset);
        if self.state == ArrayState::BeforeOpen {
            self.skip_whitespace()?;
            match self.peek()? {
                None => return Ok(false),
                Some(b'[') => {
                    self.bump();
                    self.state = ArrayState::InArray;
                }
                Some(_) => {
                    self.state = ArrayState::Done;
                    return Err(self.syntax_error(
                        "expected `[`: a JSON file must hold one array of objects (for one \
                         object per line, use the ndjson format; for CSV, --format csv)",
                    ));
                }
            }
        }
        if self.state == ArrayState::Done {
            return Ok(false);
        }
        // Between elements: whitespace and one comma.
        loop {
            self.skip_whitespace()?;
            match self.peek()? {
                Some(b',') => self.bump(),
                Some(b']') => {
                    self.bump();
                    self.skip_whitespace()?;
                    self.state = ArrayState::Done;
                    if self.peek()?.is_some() {
                        return Err(
                            self.syntax_error("unexpected content after the end of the JSON array")
                        );
                    }
                    return Ok(false);
                }
                None => {
                    self.state = ArrayState::Done;
                    return Err(
                        self.syntax_error("the file ends before the JSON array is closed with `]`")
                    );
                }
                Some(_) => break,
            }
        }
        record.start(self.line, self.column(), self.offset);
        let mut depth = 0usize;
        let mut in_string = false;
        let mut escaped = false;
        loop {
            let buf = self.input.fill_buf()?;
            if buf.is_empty() {
                record.finish(self.max);
                if record.broken.is_none() {
                    record.broken =
                        Some("unterminated JSON value (the file ends inside it)".into());
                }
                self.state = ArrayState::Done;
                return Ok(true);
            }
            let mut end = None;
            let mut last_newline = None;
            let mut i = 0;
            while i < buf.len() {
                let b = buf[i];
                if in_string {
                    if escaped {
                        escaped = false;
                    } else if b == b'\\' {
                        escaped = true;
                    } else if b == b'"' {
                        in_string = false;
                    } else {
                        // Skip ahead to the next quote or backslash, counting lines.
                        let j = memchr2(b'"', b'\\', &buf[i..]).unwrap_or(buf.len() - i);
                        let skipped = &buf[i..i + j];
                        if let Some(k) = memrchr(b'\n', skipped) {
                            self.line += skipped.iter().filter(|&&c| c == b'\n').count() as u64;
                            last_newline = Some(i + k);
                        }
                        i += j;
                        continue;
                    }
                } else {
                    match b {
                        b'"' => in_string = true,
                        b'{' | b'[' => depth += 1,
                        b'}' | b']' if depth > 0 => {
                            depth -= 1;
                            if depth == 0 {
                                end = Some(i + 1);
                            }
                        }
                        b',' | b']' if depth == 0 => end = Some(i),
                        c if depth == 0 && c.is_ascii_whitespace() => end = Some(i),
                        _ => {}
                    }
                }
                if end.is_some() {
                    break;
                }
                if b == b'\n' {
                    self.line += 1;
                    last_newline = Some(i);
                }
                i += 1;
            }
            let take = end.unwrap_or(buf.len());
            record.push(&buf[..take], self.max);
            if let Some(k) = last_newline {
                self.line_start = self.offset + k as u64 + 1;
            }
            self.input.consume(take);
            self.offset += take as u64;
            if end.is_some() {
                record.finish(self.max);
                return Ok(true);
            }
        }
    }

    fn offset(&self) -> u64 {
        self.offset
    }
}

/// Whether a raw line is only a line end (used by callers that strip it).
pub fn strip_line_end(bytes: &[u8]) -> &[u8] {
    let bytes = bytes.strip_suffix(b"\n").unwrap_or(bytes);
    bytes.strip_suffix(b"\r").unwrap_or(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(framer: &mut dyn Framer) -> Vec<(u64, String, bool)> {
        let mut out = Vec::new();
        let mut r = RawRecord::default();
        while framer.next(&mut r).unwrap() {
            out.push((
                r.line,
                String::from_utf8_lossy(&r.bytes).into_owned(),
                r.broken.is_some(),
            ));
        }
        out
    }

    #[test]
    fn csv_records_span_lines_and_report_their_start() {
        let data = b"a,b\r\n1,\"x\ny\"\n\n2,\"q\"\"\"\n3,\"open\nrest";
        let got = frame(&mut CsvFramer::new(&data[..], u64::MAX));
        assert_eq!(
            got,
            vec![
                (1, "a,b\r\n".into(), false),
                (2, "1,\"x\ny\"\n".into(), false),
                (5, "2,\"q\"\"\"\n".into(), false),
                (6, "3,\"open\nrest".into(), true),
            ]
        );
    }

    #[test]
    fn json_array_elements() {
        let data = b" [ {\"a\": \"x]\\\"\"},\n {\"b\": [1,2]}, 3 ,\n\"s\" ]\n";
        let got = frame(&mut JsonArrayFramer::new(&data[..], u64::MAX));
        assert_eq!(
            got,
            vec![
                (1, "{\"a\": \"x]\\\"\"}".into(), false),
                (2, "{\"b\": [1,2]}".into(), false),
                (2, "3".into(), false),
                (3, "\"s\"".into(), false),
            ]
        );
    }

    #[test]
    fn ndjson_lines_skip_blanks() {
        let data = b"{}\n\n  \n{\"a\":1}";
        let got = frame(&mut LineFramer::new(&data[..], u64::MAX));
        assert_eq!(
            got,
            vec![(1, "{}\n".into(), false), (4, "{\"a\":1}".into(), false)]
        );
    }
}
