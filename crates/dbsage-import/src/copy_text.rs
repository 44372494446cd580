//! Writing rows in COPY's text format, into a buffer flushed to the server in large chunks.
//! Text format is used (not binary) because staging columns are text: binary would need the
//! same bytes plus length headers, and the escaping below is a single pass.

use std::io::Write;

pub const NULL: &[u8] = b"\\N";

/// Rows are accumulated here and handed to the COPY stream once `FLUSH_AT` is reached.
pub struct CopyBuffer<W: Write> {
    out: W,
    buf: Vec<u8>,
}

const FLUSH_AT: usize = 256 * 1024;

impl<W: Write> CopyBuffer<W> {
    pub fn new(out: W) -> Self {
        CopyBuffer {
            out,
            buf: Vec::with_capacity(FLUSH_AT + 64 * 1024),
        }
    }

    pub fn start_row(&mut self, line: u64) {
        let mut digits = itoa_buf(line);
        self.buf.extend_from_slice(digits.as_bytes_mut());
    }

    pub fn null(&mut self) {
        self.buf.push(b'\t');
        self.buf.extend_from_slice(NULL);
    }

    pub fn value(&mut self, value: &[u8]) {
        self.buf.push(b'\t');
        let mut start = 0;
        for (i, &b) in value.iter().enumerate() {
            let escaped = match b {
                b'\\' => b'\\',
                b'\t' => b't',
                b'\n' => b'n',
                b'\r' => b'r',
                _ => continue,
            };
            self.buf.extend_from_slice(&value[start..i]);
            self.buf.push(b'\\');
            self.buf.push(escaped);
            start = i + 1;
        }
        self.buf.extend_from_slice(&value[start..]);
    }

    pub fn end_row(&mut self) -> std::io::Result<()> {
        self.buf.push(b'\n');
        if self.buf.len() >= FLUSH_AT {
            self.out.write_all(&self.buf)?;
            self.buf.clear();
        }
        Ok(())
    }

    pub fn finish(mut self) -> std::io::Result<W> {
        self.out.write_all(&self.buf)?;
        Ok(self.out)
    }
}

/// Decimal digits of `n` without allocating.
struct Digits {
    bytes: [u8; 20],
    start: usize,
}

impl Digits {
    fn as_bytes_mut(&mut self) -> &[u8] {
        &self.bytes[self.start..]
    }
}

fn itoa_buf(mut n: u64) -> Digits {
    let mut bytes = [0u8; 20];
    let mut start = 20;
    loop {
        start -= 1;
        bytes[start] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    Digits { bytes, start }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_text_format() {
        let mut b = CopyBuffer::new(Vec::new());
        b.start_row(42);
        b.value(b"a\tb\\c\nd\re");
        b.null();
        b.end_row().unwrap();
        let out = b.finish().unwrap();
        assert_eq!(out, b"42\ta\\tb\\\\c\\nd\\re\t\\N\n");
    }
}
