//! SQL identifiers and table names. Every name that reaches SQL text goes through [`quote`]:
//! header names come from files, and a header like `x"; drop table users; --` must stay a name.

/// `name` as a double-quoted SQL identifier, inner quotes doubled.
pub fn quote(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 2);
    out.push('"');
    for c in name.chars() {
        if c == '"' {
            out.push('"');
        }
        out.push(c);
    }
    out.push('"');
    out
}

/// `text` as a SQL string literal (E'' never needed: standard_conforming_strings is on since 9.1,
/// and we double both quotes and check the setting is not off by using `'…'` only for catalog
/// names we pass as parameters elsewhere). Used only in generated PL/pgSQL bodies.
pub fn literal(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('\'');
    for c in text.chars() {
        if c == '\'' {
            out.push('\'');
        }
        out.push(c);
    }
    out.push('\'');
    out
}

/// A table name as the user typed it: `table`, `schema.table`, with optional double quotes
/// around either part (`"My Schema"."Users"`). Unquoted parts are kept as typed; the catalog
/// lookup tries them exactly first, then folded to lower case like SQL would.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableName {
    pub schema: Option<NamePart>,
    pub name: NamePart,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamePart {
    pub text: String,
    pub quoted: bool,
}

impl NamePart {
    /// The spellings to try in the catalog, most literal first.
    pub fn candidates(&self) -> Vec<String> {
        let mut out = vec![self.text.clone()];
        if !self.quoted && self.text.to_lowercase() != self.text {
            out.push(self.text.to_lowercase());
        }
        out
    }
}

pub fn parse_table_name(input: &str) -> Result<TableName, String> {
    let mut parts = Vec::new();
    let mut chars = input.trim().chars().peekable();
    loop {
        let mut text = String::new();
        let quoted = chars.peek() == Some(&'"');
        if quoted {
            chars.next();
            loop {
                match chars.next() {
                    Some('"') if chars.peek() == Some(&'"') => {
                        chars.next();
                        text.push('"');
                    }
                    Some('"') => break,
                    Some(c) => text.push(c),
                    None => return Err(format!("unterminated quote in table name {input:?}")),
                }
            }
        } else {
            while let Some(&c) = chars.peek() {
                if c == '.' {
                    break;
                }
                text.push(c);
                chars.next();
            }
        }
        if text.is_empty() {
            return Err(format!("invalid table name {input:?}"));
        }
        parts.push(NamePart { text, quoted });
        match chars.next() {
            None => break,
            Some('.') => continue,
            Some(c) => return Err(format!("unexpected {c:?} in table name {input:?}")),
        }
    }
    match parts.len() {
        1 => Ok(TableName {
            schema: None,
            name: parts.pop().unwrap(),
        }),
        2 => {
            let name = parts.pop().unwrap();
            Ok(TableName {
                schema: parts.pop(),
                name,
            })
        }
        _ => Err(format!(
            "invalid table name {input:?}: expected `table` or `schema.table`"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_hostile_names() {
        assert_eq!(
            quote(r#"x"; drop table users; --"#),
            r#""x""; drop table users; --""#
        );
        assert_eq!(literal("it's"), "'it''s'");
    }

    #[test]
    fn parses_table_names() {
        let t = parse_table_name("public.users").unwrap();
        assert_eq!(t.schema.unwrap().text, "public");
        assert_eq!(t.name.text, "users");
        let t = parse_table_name(r#""My ""S"".x"."T.b""#).unwrap();
        assert_eq!(t.schema.unwrap().text, r#"My "S".x"#);
        assert_eq!(t.name.text, "T.b");
        assert!(t.name.quoted);
        assert!(parse_table_name("a.b.c").is_err());
        assert!(parse_table_name("").is_err());
    }
}
