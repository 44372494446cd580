//! Decoding one JSON record (an NDJSON line or an array element) into column text.
//!
//! Values keep their exact source text where that matters: numbers are passed through as
//! written (no float rounding), nested objects and arrays go into json/jsonb columns as JSON,
//! JSON arrays become PostgreSQL array literals for array columns, and anything nested aimed at
//! a scalar column is a reject rather than a silent stringification.

use std::borrow::Cow;
use std::collections::BTreeMap;

use serde_json::value::RawValue;

use crate::catalog::Column;

/// The members of a JSON object, borrowed from the record's bytes.
pub type Object<'a> = BTreeMap<String, &'a RawValue>;

/// Why a record is not a usable JSON object.
#[derive(Debug)]
pub enum NotAnObject {
    /// Not JSON at all: where (1-based line and byte column within the record) and why.
    Syntax {
        line: u64,
        column: u64,
        message: String,
    },
    /// Valid JSON, but not an object.
    Other(String),
}

impl NotAnObject {
    /// The reason for a reject, with the position made absolute from the record's start.
    pub fn reason(&self, record_line: u64, record_column: u64) -> String {
        match self {
            NotAnObject::Syntax {
                line,
                column,
                message,
            } => {
                let (line, column) = absolute(record_line, record_column, *line, *column);
                format!("invalid JSON at line {line}, column {column}: {message}")
            }
            NotAnObject::Other(reason) => reason.clone(),
        }
    }
}

/// A position inside a record, made absolute: columns add up on the record's first line only.
pub fn absolute(record_line: u64, record_column: u64, line: u64, column: u64) -> (u64, u64) {
    if line <= 1 {
        (record_line, record_column + column.max(1) - 1)
    } else {
        (record_line + line - 1, column.max(1))
    }
}

pub fn parse_object(raw: &[u8]) -> Result<Object<'_>, NotAnObject> {
    let text = std::str::from_utf8(raw).map_err(|e| NotAnObject::Other(e.to_string()))?;
    let error = match serde_json::from_str::<Object<'_>>(text) {
        Ok(object) => return Ok(object),
        Err(e) => e,
    };
    use serde_json::error::Category;
    if matches!(error.classify(), Category::Syntax | Category::Eof) {
        // serde_json's message ends with " at line L column C"; the position is given apart.
        let message = error.to_string();
        let message = message
            .rsplit_once(" at line ")
            .map(|(m, _)| m.to_string())
            .unwrap_or(message);
        return Err(NotAnObject::Syntax {
            line: error.line() as u64,
            column: error.column() as u64,
            message,
        });
    }
    let found = match text.trim_start().as_bytes().first() {
        Some(b'[') => "an array",
        Some(b'"') => "a string",
        Some(b't' | b'f') => "a boolean",
        Some(b'n') => "null",
        _ => "a number",
    };
    Err(NotAnObject::Other(format!(
        "expected a JSON object, found {found}"
    )))
}

/// The text PostgreSQL should parse for `value` in `column`; `None` is SQL NULL.
pub fn column_text<'a>(
    value: &'a RawValue,
    column: &Column,
) -> Result<Option<Cow<'a, str>>, String> {
    let text = value.get();
    let first = text.as_bytes().first().copied().unwrap_or(b'n');
    if text == "null" {
        return Ok(None);
    }
    if column.is_json {
        return Ok(Some(Cow::Borrowed(text)));
    }
    match first {
        b'"' => serde_json::from_str::<String>(text)
            .map(|s| Some(Cow::Owned(s)))
            .map_err(|e| format!("invalid JSON string: {e}")),
        b'[' if column.is_array => {
            let mut out = String::new();
            array_literal(value, &mut out)?;
            Ok(Some(Cow::Owned(out)))
        }
        b'{' | b'[' => Err(format!(
            "a nested JSON {} cannot go into column {:?} of type {} (only json, jsonb{} columns take nested values)",
            if first == b'{' { "object" } else { "array" },
            column.name,
            column.full_type,
            if first == b'[' { " and array" } else { "" },
        )),
        _ => Ok(Some(Cow::Borrowed(text))),
    }
}

/// A JSON array as a PostgreSQL array literal: `[1, "a b", null, [2]]` → `{1,"a b",NULL,{2}}`.
fn array_literal(value: &RawValue, out: &mut String) -> Result<(), String> {
    let items: Vec<&RawValue> =
        serde_json::from_str(value.get()).map_err(|e| format!("invalid JSON array: {e}"))?;
    out.push('{');
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        let text = item.get();
        match text.as_bytes().first() {
            Some(b'[') => array_literal(item, out)?,
            _ if text == "null" => out.push_str("NULL"),
            Some(b'"') => {
                let s: String =
                    serde_json::from_str(text).map_err(|e| format!("invalid JSON string: {e}"))?;
                quote_element(&s, out);
            }
            _ => quote_element(text, out),
        }
    }
    out.push('}');
    Ok(())
}

fn quote_element(text: &str, out: &mut String) {
    out.push('"');
    for c in text.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn column(is_json: bool, is_array: bool) -> Column {
        Column {
            name: "c".into(),
            full_type: "t".into(),
            base_type: "t".into(),
            has_typmod: false,
            rounds: false,
            not_null: false,
            has_default: false,
            identity: String::new(),
            generated: false,
            is_json,
            is_array,
            comparable: true,
        }
    }

    #[test]
    fn values_to_column_text() {
        let obj = parse_object(br#"{"n": 12345678901234567890.5, "s": "a\"b", "o": {"x": [1]}, "a": [1, "q r", null, [2]], "z": null}"#).unwrap();
        let scalar = column(false, false);
        assert_eq!(
            column_text(obj["n"], &scalar).unwrap().unwrap(),
            "12345678901234567890.5"
        );
        assert_eq!(column_text(obj["s"], &scalar).unwrap().unwrap(), "a\"b");
        assert!(column_text(obj["o"], &scalar).is_err());
        assert_eq!(
            column_text(obj["o"], &column(true, false))
                .unwrap()
                .unwrap(),
            r#"{"x": [1]}"#
        );
        assert_eq!(
            column_text(obj["s"], &column(true, false))
                .unwrap()
                .unwrap(),
            r#""a\"b""#
        );
        assert_eq!(
            column_text(obj["a"], &column(false, true))
                .unwrap()
                .unwrap(),
            r#"{"1","q r",NULL,{"2"}}"#
        );
        assert_eq!(column_text(obj["z"], &scalar).unwrap(), None);
        assert!(parse_object(b"[1]")
            .unwrap_err()
            .reason(1, 1)
            .contains("array"));
        assert_eq!(
            parse_object(b"id,name").unwrap_err().reason(3, 5),
            "invalid JSON at line 3, column 5: expected value"
        );
    }
}
