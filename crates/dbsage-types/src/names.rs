//! Names made safe for the generated languages.

/// A TypeScript property key: bare when it is an identifier, otherwise a quoted string.
pub(crate) fn ts_key(name: &str) -> String {
    let mut chars = name.chars();
    let identifier = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == '$')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$');
    if identifier {
        name.to_string()
    } else {
        ts_string(name)
    }
}

/// A TypeScript string literal.
pub(crate) fn ts_string(text: &str) -> String {
    serde_json::to_string(text).expect("a string serialises")
}

const RUST_KEYWORDS: &[&str] = &[
    "as", "async", "await", "break", "const", "continue", "dyn", "else", "enum", "extern", "false",
    "fn", "for", "gen", "if", "impl", "in", "let", "loop", "match", "mod", "move", "mut", "pub",
    "ref", "return", "static", "struct", "trait", "true", "type", "unsafe", "use", "where",
    "while", "abstract", "become", "box", "do", "final", "macro", "override", "priv", "try",
    "typeof", "unsized", "virtual", "yield",
];

/// Words of a name: `user_Profiles-2` → [user, Profiles, 2].
fn words(name: &str) -> Vec<String> {
    name.split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_string)
        .collect()
}

/// A Rust field name: snake_case (`avatarUrl` → `avatar_url`), `r#` before keywords, `_`
/// before a leading digit.
pub(crate) fn rust_field(name: &str) -> String {
    let mut field = words(name)
        .iter()
        .map(|w| snake(w))
        .collect::<Vec<_>>()
        .join("_");
    if field.is_empty() {
        field = "field".into();
    }
    if field.starts_with(|c: char| c.is_ascii_digit()) {
        field.insert(0, '_');
    }
    if ["self", "super", "crate", "Self"].contains(&field.as_str()) {
        field.push('_');
    } else if RUST_KEYWORDS.contains(&field.as_str()) {
        field.insert_str(0, "r#");
    }
    field
}

/// `avatarUrl` → `avatar_url`.
fn snake(word: &str) -> String {
    let mut out = String::new();
    let mut previous_lower = false;
    for c in word.chars() {
        if c.is_ascii_uppercase() && previous_lower {
            out.push('_');
        }
        previous_lower = c.is_ascii_lowercase() || c.is_ascii_digit();
        out.push(c.to_ascii_lowercase());
    }
    out
}

/// A Rust type or variant name: UpperCamelCase, `V` before a leading digit.
pub(crate) fn rust_type(name: &str) -> String {
    let mut ty: String = words(name)
        .iter()
        .map(|w| {
            let mut chars = w.chars();
            let first = chars.next().map(|c| c.to_ascii_uppercase());
            first.into_iter().chain(chars).collect::<String>()
        })
        .collect();
    if ty.is_empty() {
        ty = "Value".into();
    }
    if ty.starts_with(|c: char| c.is_ascii_digit()) {
        ty.insert(0, 'V');
    }
    if ty == "Self" {
        ty.push('_');
    }
    ty
}

/// Makes each name in `names` unique by appending a number to repeats (`Value`, `Value2`).
pub(crate) fn unique(names: Vec<String>) -> Vec<String> {
    let mut seen = std::collections::BTreeSet::new();
    names
        .into_iter()
        .map(|name| {
            let mut candidate = name.clone();
            let mut n = 2;
            while !seen.insert(candidate.clone()) {
                candidate = format!("{name}{n}");
                n += 1;
            }
            candidate
        })
        .collect()
}
