//! A column's type as the catalog spells it (`format_type`: `character varying(20)`,
//! `timestamp(3) with time zone`, `public.mood[]`, `"My Type"`) resolved to what the
//! generators map: a built-in type, or one of the schema's enums, composite types or table
//! row types. Domains are seen through to their base type.

use dbsage_catalog::Catalog;

/// What a type resolved to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Base {
    /// A built-in (or extension) type by its canonical name without modifier: `integer`,
    /// `timestamp with time zone`, `jsonb`, `citext`.
    Builtin(String),
    Enum {
        schema: String,
        name: String,
    },
    Composite {
        schema: String,
        name: String,
    },
    /// The row type of a table or view used as a column type.
    Row {
        schema: String,
        name: String,
    },
}

/// A resolved type: its base and how many array levels wrap it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PgType {
    pub base: Base,
    pub array: bool,
}

/// What a built-in type holds, whatever the language it is mapped to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Builtin {
    Int16,
    Int32,
    Int64,
    Float32,
    Float64,
    Numeric,
    Oid,
    Bool,
    Json,
    /// Sent as text: strings, uuids, dates and times, intervals, bytea (hex), network, ranges.
    Text,
    Void,
    Record,
    Unknown,
}

/// The kind of the built-in type `name` (canonical, without modifier).
pub fn builtin(name: &str) -> Builtin {
    match name {
        "smallint" => Builtin::Int16,
        "integer" => Builtin::Int32,
        "bigint" => Builtin::Int64,
        "real" => Builtin::Float32,
        "double precision" => Builtin::Float64,
        "numeric" => Builtin::Numeric,
        "oid" => Builtin::Oid,
        "boolean" => Builtin::Bool,
        "json" | "jsonb" => Builtin::Json,
        "text"
        | "character varying"
        | "character"
        | "\"char\""
        | "char"
        | "name"
        | "citext"
        | "uuid"
        | "date"
        | "time without time zone"
        | "time with time zone"
        | "timestamp without time zone"
        | "timestamp with time zone"
        | "interval"
        | "bytea"
        | "inet"
        | "cidr"
        | "macaddr"
        | "macaddr8"
        | "money"
        | "tsvector"
        | "tsquery"
        | "xml"
        | "bit"
        | "bit varying"
        | "int4range"
        | "int8range"
        | "numrange"
        | "tsrange"
        | "tstzrange"
        | "daterange"
        | "ltree" => Builtin::Text,
        "void" => Builtin::Void,
        "record" => Builtin::Record,
        _ => Builtin::Unknown,
    }
}

/// Resolves `data_type` against `catalog`.
pub fn resolve(catalog: &Catalog, data_type: &str) -> PgType {
    resolve_depth(catalog, data_type, 0)
}

fn resolve_depth(catalog: &Catalog, data_type: &str, depth: usize) -> PgType {
    let mut text = without_modifiers(data_type);
    let mut array = false;
    while let Some(element) = text.strip_suffix("[]") {
        array = true;
        text = element.trim_end().to_string();
    }
    let (schema, name) = split_qualified(&text);
    if let Some(domain) = find(&catalog.domains, &schema, &name, |d| (&d.schema, &d.name)) {
        if depth < 16 {
            let inner = resolve_depth(catalog, &domain.base_type, depth + 1);
            return PgType {
                base: inner.base,
                array: array || inner.array,
            };
        }
    }
    let base = if let Some(e) = find(&catalog.enums, &schema, &name, |e| (&e.schema, &e.name)) {
        Base::Enum {
            schema: e.schema.clone(),
            name: e.name.clone(),
        }
    } else if let Some(c) = find(&catalog.composite_types, &schema, &name, |c| {
        (&c.schema, &c.name)
    }) {
        Base::Composite {
            schema: c.schema.clone(),
            name: c.name.clone(),
        }
    } else if let Some(t) = find(&catalog.tables, &schema, &name, |t| (&t.schema, &t.name)) {
        Base::Row {
            schema: t.schema.clone(),
            name: t.name.clone(),
        }
    } else if let Some(v) = find(&catalog.views, &schema, &name, |v| (&v.schema, &v.name)) {
        Base::Row {
            schema: v.schema.clone(),
            name: v.name.clone(),
        }
    } else {
        Base::Builtin(name)
    };
    PgType { base, array }
}

/// The object of `items` named `name` in `schema`; an unqualified name (visible on the reading
/// connection's search path) is looked for in `public` first, then in a schema holding the only
/// object of that name.
fn find<'a, T>(
    items: &'a [T],
    schema: &Option<String>,
    name: &str,
    key: impl Fn(&T) -> (&String, &String),
) -> Option<&'a T> {
    match schema {
        Some(schema) => items.iter().find(|i| {
            let (s, n) = key(i);
            s == schema && n == name
        }),
        None => {
            let mut named = items.iter().filter(|i| key(i).1 == name);
            let all: Vec<&T> = named.by_ref().collect();
            all.iter()
                .find(|i| key(i).0 == "public")
                .copied()
                .or_else(|| (all.len() == 1).then(|| all[0]))
        }
    }
}

/// `timestamp(3) with time zone` → `timestamp with time zone`; `numeric(10,2)[]` → `numeric[]`.
/// Parentheses inside double quotes (part of a name) are kept.
fn without_modifiers(data_type: &str) -> String {
    let mut out = String::new();
    let mut quoted = false;
    let mut depth = 0;
    for c in data_type.chars() {
        match c {
            '"' if depth == 0 => {
                quoted = !quoted;
                out.push(c);
            }
            '(' if !quoted => depth += 1,
            ')' if !quoted && depth > 0 => depth -= 1,
            _ if depth == 0 => out.push(c),
            _ => {}
        }
    }
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// `public."My Type"` → (`public`, `My Type`); `integer` → (None, `integer`).
fn split_qualified(text: &str) -> (Option<String>, String) {
    let mut parts = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                chars.next();
                current.push('"');
            }
            '"' => quoted = !quoted,
            '.' if !quoted => parts.push(std::mem::take(&mut current)),
            _ => current.push(c),
        }
    }
    parts.push(current);
    let name = parts.pop().unwrap_or_default();
    (parts.pop(), name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modifiers_and_quotes() {
        assert_eq!(
            without_modifiers("timestamp(3) with time zone"),
            "timestamp with time zone"
        );
        assert_eq!(without_modifiers("numeric(10,2)[]"), "numeric[]");
        assert_eq!(
            split_qualified("app.\"My.Type\""),
            (Some("app".into()), "My.Type".into())
        );
    }
}
