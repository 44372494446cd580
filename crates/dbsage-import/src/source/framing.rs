//! Cutting a byte stream into raw records without interpreting them.
//!
//! CSV follows PostgreSQL's rule: a `"` anywhere toggles quoting (a doubled `""` toggles twice),
//! and a newline outside quotes ends the record, so a quoted field may span lines and the record
//! is reported at the line where it starts. NDJSON records are lines. A JSON array's records are
//! its elements, found by tracking strings and nesting depth.

use std::io::{self, BufRead};

use memchr::memchr2;

/// One record as it appears in the source.
#[derive(Debug, Default)]
pub struct RawRecord {
    /// 1-based line where the record starts.
    pub line: u64,
    /// Byte offset of the record's first byte in the source (after a BOM).
    pub offset: u64,
    /// The original bytes, including the line end (CSV, NDJSON).
    pub bytes: Vec<u8>,
    /// Why the record cannot be decoded even in principle (unterminated quote or JSON value).
    pub broken: Option<String>,
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
}

impl<R: BufRead> CsvFramer<R> {
    pub fn new(input: R) -> Self {
        CsvFramer {
            input,
            line: 1,
            offset: 0,
            quote: b'"',
        }
    }
}

impl<R: BufRead> Framer for CsvFramer<R> {
    fn next(&mut self, record: &mut RawRecord) -> io::Result<bool> {
        loop {
            record.bytes.clear();
            record.broken = None;
            record.line = self.line;
            record.offset = self.offset;
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
                record.bytes.extend_from_slice(&buf[..pos]);
                self.input.consume(pos);
                self.offset += pos as u64;
                if ended {
                    break;
                }
            }
            if record.bytes.is_empty() {
                return Ok(false);
            }
            if in_quotes {
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
}

impl<R: BufRead> LineFramer<R> {
    pub fn new(input: R) -> Self {
        LineFramer {
            input,
            line: 1,
            offset: 0,
        }
    }
}

impl<R: BufRead> Framer for LineFramer<R> {
    fn next(&mut self, record: &mut RawRecord) -> io::Result<bool> {
        loop {
            record.bytes.clear();
            record.broken = None;
            record.line = self.line;
            record.offset = self.offset;
            let n = self.input.read_until(b'\n', &mut record.bytes)?;
            if n == 0 {
                return Ok(false);
            }
            self.offset += n as u64;
            self.line += 1;
            if record.bytes.iter().all(|b| b.is_ascii_whitespace()) {
                continue;
            }
            return Ok(true);
        }
    }

    fn offset(&self) -> u64 {
        self.offset
    }
}

/// The elements of one top-level JSON array, each as its own raw record.
pub struct JsonArrayFramer<R> {
    input: R,
    line: u64,
    offset: u64,
    state: ArrayState,
}

#[derive(Debug, PartialEq, Eq)]
enum ArrayState {
    BeforeOpen,
    InArray,
    Done,
}

impl<R: BufRead> JsonArrayFramer<R> {
    pub fn new(input: R) -> Self {
        JsonArrayFramer {
            input,
            line: 1,
            offset: 0,
            state: ArrayState::BeforeOpen,
        }
    }

    fn peek(&mut self) -> io::Result<Option<u8>> {
        Ok(self.input.fill_buf()?.first().copied())
    }

    fn bump(&mut self) {
        if let Ok(buf) = self.input.fill_buf() {
            if let Some(&b) = buf.first() {
                if b == b'\n' {
                    self.line += 1;
                }
                self.input.consume(1);
                self.offset += 1;
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

    /// Reads the rest of the input as one broken record (after a structural error).
    fn rest_as_broken(&mut self, record: &mut RawRecord, reason: String) -> io::Result<bool> {
        loop {
            let buf = self.input.fill_buf()?;
            if buf.is_empty() {
                break;
            }
            let n = buf.len();
            self.line += buf.iter().filter(|&&b| b == b'\n').count() as u64;
            record.bytes.extend_from_slice(buf);
            self.input.consume(n);
            self.offset += n as u64;
        }
        self.state = ArrayState::Done;
        record.broken = Some(reason);
        Ok(!record.bytes.is_empty())
    }
}

impl<R: BufRead> Framer for JsonArrayFramer<R> {
    fn next(&mut self, record: &mut RawRecord) -> io::Result<bool> {
        record.bytes.clear();
        record.broken = None;
        if self.state == ArrayState::BeforeOpen {
            self.skip_whitespace()?;
            match self.peek()? {
                None => return Ok(false),
                Some(b'[') => {
                    self.bump();
                    self.state = ArrayState::InArray;
                }
                Some(_) => {
                    record.line = self.line;
                    record.offset = self.offset;
                    return self.rest_as_broken(
                        record,
                        "a JSON file must hold one array of objects (for one object per line, use the ndjson format)".into(),
                    );
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
                        record.line = self.line;
                        record.offset = self.offset;
                        return self.rest_as_broken(
                            record,
                            "unexpected content after the end of the JSON array".into(),
                        );
                    }
                    return Ok(false);
                }
                None => {
                    self.state = ArrayState::Done;
                    record.line = self.line;
                    record.offset = self.offset;
                    record.broken = Some("the JSON array is never closed with `]`".into());
                    // An empty broken record still counts: report it at the end of the file.
                    return Ok(true);
                }
                Some(_) => break,
            }
        }
        record.line = self.line;
        record.offset = self.offset;
        let mut depth = 0usize;
        let mut in_string = false;
        let mut escaped = false;
        loop {
            let buf = self.input.fill_buf()?;
            if buf.is_empty() {
                record.broken = Some("unterminated JSON value (the file ends inside it)".into());
                self.state = ArrayState::Done;
                return Ok(true);
            }
            let mut end = None;
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
                        self.line += buf[i..i + j].iter().filter(|&&c| c == b'\n').count() as u64;
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
                if b == b'\n' {
                    self.line += 1;
                }
                if end.is_some() {
                    break;
                }
                i += 1;
            }
            let take = end.unwrap_or(buf.len());
            record.bytes.extend_from_slice(&buf[..take]);
            self.input.consume(take);
            self.offset += take as u64;
            if end.is_some() {
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
        let got = frame(&mut CsvFramer::new(&data[..]));
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
        let got = frame(&mut JsonArrayFramer::new(&data[..]));
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
        let got = frame(&mut LineFramer::new(&data[..]));
        assert_eq!(
            got,
            vec![(1, "{}\n".into(), false), (4, "{\"a\":1}".into(), false)]
        );
    }
}
