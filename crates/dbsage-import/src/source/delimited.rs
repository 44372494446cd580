//! Decoding one raw CSV/TSV record into fields, with PostgreSQL's CSV rules: a quote toggles
//! quoting anywhere in a field, `""` inside quotes is a literal quote, and only an unquoted field
//! can be NULL (so `""` stays an empty string while an empty unquoted field is NULL).

use memchr::{memchr, memchr2};

use super::framing::strip_line_end;

/// The fields of one record: contents concatenated in `data`, each field a span of it.
#[derive(Debug, Default)]
pub struct Fields {
    pub data: Vec<u8>,
    /// `(start, end, quoted)` into `data`.
    pub spans: Vec<(usize, usize, bool)>,
}

impl Fields {
    pub fn len(&self) -> usize {
        self.spans.len()
    }

    pub fn get(&self, index: usize) -> (&[u8], bool) {
        let (start, end, quoted) = self.spans[index];
        (&self.data[start..end], quoted)
    }
}

pub fn split(raw: &[u8], delimiter: u8, out: &mut Fields) {
    const QUOTE: u8 = b'"';
    let line = strip_line_end(raw);
    out.data.clear();
    out.spans.clear();
    let mut field_start = 0;
    let mut quoted = false;
    let mut in_quotes = false;
    let mut i = 0;
    while i < line.len() {
        if in_quotes {
            match memchr(QUOTE, &line[i..]) {
                None => {
                    out.data.extend_from_slice(&line[i..]);
                    i = line.len();
                }
                Some(j) => {
                    out.data.extend_from_slice(&line[i..i + j]);
                    i += j + 1;
                    if line.get(i) == Some(&QUOTE) {
                        out.data.push(QUOTE);
                        i += 1;
                    } else {
                        in_quotes = false;
                    }
                }
            }
        } else {
            match memchr2(delimiter, QUOTE, &line[i..]) {
                None => {
                    out.data.extend_from_slice(&line[i..]);
                    i = line.len();
                }
                Some(j) => {
                    out.data.extend_from_slice(&line[i..i + j]);
                    i += j;
                    if line[i] == delimiter {
                        out.spans.push((field_start, out.data.len(), quoted));
                        field_start = out.data.len();
                        quoted = false;
                    } else {
                        in_quotes = true;
                        quoted = true;
                    }
                    i += 1;
                }
            }
        }
    }
    out.spans.push((field_start, out.data.len(), quoted));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(raw: &str, delimiter: u8) -> Vec<(String, bool)> {
        let mut f = Fields::default();
        split(raw.as_bytes(), delimiter, &mut f);
        (0..f.len())
            .map(|i| {
                let (v, q) = f.get(i);
                (String::from_utf8(v.to_vec()).unwrap(), q)
            })
            .collect()
    }

    #[test]
    fn splits_quoted_and_unquoted_fields() {
        assert_eq!(
            fields("1,\"a,b\",\"\",,\"x\"\"y\"\r\n", b','),
            vec![
                ("1".into(), false),
                ("a,b".into(), true),
                ("".into(), true),
                ("".into(), false),
                ("x\"y".into(), true),
            ]
        );
        assert_eq!(
            fields("a\t\"b\nc\"\n", b'\t'),
            vec![("a".into(), false), ("b\nc".into(), true)]
        );
    }
}
