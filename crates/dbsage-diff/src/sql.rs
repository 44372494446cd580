//! Spelling names and literals in SQL.

pub use dbsage_sql::quote_ident as ident;

/// `schema.name`, each part quoted when needed.
pub fn qualified(schema: &str, name: &str) -> String {
    format!("{}.{}", ident(schema), ident(name))
}

/// A string literal: `'it''s'`.
pub fn literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// A role in GRANT/REVOKE/policy position: the pseudo-role `public` is the keyword PUBLIC.
pub fn role(name: &str) -> String {
    if name == "public" {
        "PUBLIC".to_string()
    } else {
        ident(name)
    }
}

/// Whether `text` mentions the identifier `name` as a whole word (an SQL expression or a view
/// definition referring to a table, type or function). Over-matching only costs a recreate.
pub fn mentions(text: &str, name: &str) -> bool {
    let is_word = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '$';
    let mut from = 0;
    while let Some(found) = text[from..].find(name) {
        let start = from + found;
        let end = start + name.len();
        let before_ok = text[..start]
            .chars()
            .next_back()
            .is_none_or(|c| !is_word(c));
        let after_ok = text[end..].chars().next().is_none_or(|c| !is_word(c));
        if before_ok && after_ok {
            return true;
        }
        from = end;
    }
    false
}

/// Whether a definition (a view's query, a function's SQL-standard body) living in
/// `own_schema` reads the relation or function `schema.name`: its name as a word, quoted or
/// not, and its schema named too unless it is the definition's own or `public`.
pub fn reads(definition: &str, own_schema: &str, schema: &str, name: &str) -> bool {
    (mentions(definition, name) || mentions(definition, &format!("\"{name}\"")))
        && (schema == own_schema || schema == "public" || mentions(definition, schema))
}

/// Tables by `(schema, name)`: thousands of lookups against a list would be quadratic.
pub(crate) fn tables_by_name(
    catalog: &dbsage_catalog::Catalog,
) -> std::collections::HashMap<(&str, &str), &dbsage_catalog::Table> {
    catalog
        .tables
        .iter()
        .map(|t| ((t.schema.as_str(), t.name.as_str()), t))
        .collect()
}
