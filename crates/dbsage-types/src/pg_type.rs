//! A column's type as the catalog spells it (`format_type`: `character varying(20)`,
//! `timestamp(3) with time zone`, `public.mood[]`, `"My Type"`) resolved to what the
//! generators map: a built-in type, or one of the schema's enums, composite types or table
//! row types. Domains are seen through to their base type.

use std::collections::HashMap;

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

/// What a type name can be, beyond the built-ins.
#[derive(Debug, Clone, Copy)]
enum Named<'a> {
    Domain(&'a dbsage_catalog::Domain),
    Enum,
    Composite,
    Row,
}

/// Resolves type names against one catalog, through an index built once (a schema has
/// thousands of columns to resolve).
pub struct Resolver<'a> {
    /// `(schema, name)` → what it is; enums, domains, composite and row types share one
    /// namespace per schema in PostgreSQL, as here.
    qualified: HashMap<(&'a str, &'a str), Named<'a>>,
    /// name → the schemas that have a type of that name.
    schemas_by_name: HashMap<&'a str, Vec<&'a str>>,
}

impl<'a> Resolver<'a> {
    pub fn new(catalog: &'a Catalog) -> Resolver<'a> {
        let mut qualified = HashMap::new();
        let entries = catalog
            .domains
            .iter()
            .map(|d| (&d.schema, &d.name, Named::Domain(d)))
            .chain(
                catalog
                    .enums
                    .iter()
                    .map(|e| (&e.schema, &e.name, Named::Enum)),
            )
            .chain(
                catalog
                    .composite_types
                    .iter()
                    .map(|c| (&c.schema, &c.name, Named::Composite)),
            )
            .chain(
                catalog
                    .tables
                    .iter()
                    .map(|t| (&t.schema, &t.name, Named::Row)),
            )
            .chain(
                catalog
                    .views
                    .iter()
                    .map(|v| (&v.schema, &v.name, Named::Row)),
            );
        let mut schemas_by_name: HashMap<&str, Vec<&str>> = HashMap::new();
        for (schema, name, named) in entries {
            qualified
                .entry((schema.as_str(), name.as_str()))
                .or_insert(named);
            schemas_by_name
                .entry(name.as_str())
                .or_default()
                .push(schema.as_str());
        }
        Resolver {
            qualified,
            schemas_by_name,
        }
    }

    /// Resolves `data_type` (as `format_type` spells it).
    pub fn resolve(&self, data_type: &str) -> PgType {
        self.resolve_depth(data_type, 0)
    }

    fn resolve_depth(&self, data_type: &str, depth: usize) -> PgType {
        let mut text = without_modifiers(data_type);
        let mut array = false;
        while let Some(element) = text.strip_suffix("[]") {
            array = true;
            text = element.trim_end().to_string();
        }
        let (schema, name) = split_qualified(&text);
        // `format_type` qualifies a user type that a built-in's name would shadow, so an
        // unqualified built-in name is the built-in.
        if schema.is_none() && builtin(&name) != Builtin::Unknown {
            return PgType {
                base: Base::Builtin(name),
                array,
            };
        }
        let schema = match schema {
            Some(schema) => Some(schema),
            None => self.unqualified_schema(&name).map(str::to_string),
        };
        let found = schema
            .as_deref()
            .and_then(|s| self.qualified.get(&(s, name.as_str())).map(|n| (s, *n)));
        let Some((schema, named)) = found else {
            return PgType {
                base: Base::Builtin(name),
                array,
            };
        };
        let (schema, name) = (schema.to_string(), name);
        let base = match named {
            Named::Domain(domain) if depth < 16 => {
                let inner = self.resolve_depth(&domain.base_type, depth + 1);
                return PgType {
                    base: inner.base,
                    array: array || inner.array,
                };
            }
            Named::Domain(_) => Base::Builtin(name),
            Named::Enum => Base::Enum { schema, name },
            Named::Composite => Base::Composite { schema, name },
            Named::Row => Base::Row { schema, name },
        };
        PgType { base, array }
    }

    /// The `(NOT NULL, DEFAULT)` a column of type `data_type` gets from its domain (and the
    /// domains under it): both false for other types and for arrays of a domain.
    pub fn domain_constraints(&self, data_type: &str) -> (bool, bool) {
        let (mut not_null, mut default) = (false, false);
        let mut current = without_modifiers(data_type);
        for _ in 0..16 {
            if current.ends_with("[]") {
                break;
            }
            let (schema, name) = split_qualified(&current);
            let schema = match schema {
                Some(schema) => Some(schema),
                None => self.unqualified_schema(&name).map(str::to_string),
            };
            let Some(Named::Domain(domain)) = schema
                .as_deref()
                .and_then(|s| self.qualified.get(&(s, name.as_str())))
            else {
                break;
            };
            not_null |= domain.not_null;
            default |= domain.default.is_some();
            current = without_modifiers(&domain.base_type);
        }
        (not_null, default)
    }

    /// An unqualified name (visible on the reading connection's search path): `public` first,
    /// then the only schema that has a type of that name.
    fn unqualified_schema(&self, name: &str) -> Option<&'a str> {
        let schemas = self.schemas_by_name.get(name)?;
        if schemas.contains(&"public") {
            return Some("public");
        }
        let first = *schemas.first()?;
        schemas.iter().all(|s| *s == first).then_some(first)
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
