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

pub fn parse_object(raw: &[u8]) -> Result<Object<'_>, String> {
    let text = std::str::from_utf8(raw).map_err(|e| e.to_string())?;
    let trimmed = text.trim_start();
    match trimmed.as_bytes().first() {
        Some(b'{') => {}
        Some(b'[') => return Err("expected a JSON object, found an array".into()),
        Some(b'"') => return Err("expected a JSON object, found a string".into()),
        Some(b't' | b'f') => return Err("expected a JSON object, found a boolean".into()),
        Some(b'n') => return Err("expected a JSON object, found null".into()),
        Some(_) => return Err("expected a JSON object, found a number or invalid JSON".into()),
        None => return Err("empty JSON record".into()),
    }
    serde_json::from_str::<Object<'_>>(text).map_err(|e| format!("invalid JSON: {e}"))
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
        assert!(parse_object(b"[1]").unwrap_err().contains("array"));
    }
}
