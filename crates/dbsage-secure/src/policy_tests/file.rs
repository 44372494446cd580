//! The policy test file format (`tests/rls/*.toml`):
//!
//! ```toml
//! setup = ["insert into auth.users(id, email) values ('11111111-1111-1111-1111-111111111111', 'a@x.io')"]
//!
//! [[case]]
//! name = "members read their team's projects"
//! as = { role = "authenticated", sub = "11111111-1111-1111-1111-111111111111" }
//! sql = "select * from projects"
//! expect = { rows = 2 }   # or { rows_at_least = 1 }, { error = "42501" }, { denied = true }
//! ```
//!
//! `set = { "app.current_org" = "42" }` (in the file, for every case, or in a case, which wins)
//! sets custom settings before the case runs, for policies that read `current_setting()`.
//! `as` also takes `claims = { … }` (the whole JWT payload), or is just a role name
//! (`as = "anon"`); a case may instead say `role = "anon"` (and `claims`) at its top level.
//! Every mistake is reported with the file, line, column and key, because a test file that
//! silently means something else is worse than none.

use std::collections::BTreeMap;
use std::ops::Range;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use toml::Spanned;

use crate::error::SecureError;

/// One test file.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TestFile {
    pub path: PathBuf,
    /// Statements run as the connecting (super)user inside each case's transaction, before the
    /// case impersonates anyone.
    pub setup: Vec<String>,
    pub cases: Vec<TestCase>,
}

/// Who a case runs as.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Actor {
    pub role: String,
    /// The JWT payload; `sub` given in `as` is merged in.
    pub claims: Map<String, Value>,
    /// Custom settings (`app.current_org = "42"`): the file's `set`, then the case's.
    pub settings: BTreeMap<String, String>,
}

impl Actor {
    /// The `sub` claim (what `auth.uid()` returns).
    pub fn sub(&self) -> Option<&str> {
        self.claims.get("sub").and_then(Value::as_str)
    }
}

/// What a case expects.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Expect {
    /// Exactly N rows returned (SELECT) or affected (INSERT/UPDATE/DELETE).
    Rows(u64),
    /// At least N rows.
    RowsAtLeast(u64),
    /// The statement fails with this SQLSTATE (five characters) or with a message containing
    /// this text.
    Error(String),
    /// Fails with 42501 (insufficient privilege) or returns/affects no rows.
    Denied,
}

/// One case.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TestCase {
    pub name: String,
    #[serde(rename = "as")]
    pub actor: Actor,
    pub sql: String,
    pub expect: Expect,
    /// 1-based line of the case in its file.
    pub line: usize,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    setup: Vec<String>,
    #[serde(default)]
    set: Option<Spanned<toml::Table>>,
    #[serde(default, rename = "case")]
    cases: Vec<Spanned<RawCase>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCase {
    name: String,
    #[serde(rename = "as")]
    actor: Option<Spanned<toml::Value>>,
    role: Option<Spanned<String>>,
    claims: Option<Spanned<toml::Table>>,
    set: Option<Spanned<toml::Table>>,
    sql: String,
    expect: Spanned<toml::Table>,
}

/// Loads `dir/*.toml` sorted by name, or the single file when `dir` is a file.
pub fn load_tests(dir: &Path) -> Result<Vec<TestFile>, SecureError> {
    if dir.is_file() {
        return Ok(vec![load_file(dir)?]);
    }
    if !dir.is_dir() {
        return Err(SecureError::BadInput(format!(
            "no policy tests: {} does not exist (tests live in tests/rls/*.toml)",
            dir.display()
        )));
    }
    let entries = std::fs::read_dir(dir).map_err(|source| SecureError::Io {
        what: format!("reading {}", dir.display()),
        source,
    })?;
    let mut paths: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "toml") && p.is_file())
        .collect();
    paths.sort();
    paths.iter().map(|p| load_file(p)).collect()
}

fn load_file(path: &Path) -> Result<TestFile, SecureError> {
    let text = std::fs::read_to_string(path).map_err(|source| SecureError::Io {
        what: format!("reading {}", path.display()),
        source,
    })?;
    parse_test_file(path, &text)
}

/// Parses one test file's text; `path` is only used in results and errors.
pub fn parse_test_file(path: &Path, text: &str) -> Result<TestFile, SecureError> {
    let raw: RawFile = toml::from_str(text).map_err(|e| {
        let span = e.span().unwrap_or(0..0);
        let message = e.message().trim().to_string();
        let key = key_in_message(&message).or_else(|| key_before(text, span.start));
        located(path, text, span, key, message)
    })?;
    let file_settings = match &raw.set {
        Some(set) => settings(path, text, set, "set")?,
        None => BTreeMap::new(),
    };
    let mut cases = Vec::new();
    for case in raw.cases {
        let span = case.span();
        let case = case.into_inner();
        let mut actor = actor(path, text, &case, span.clone())?;
        actor.settings = file_settings.clone();
        if let Some(set) = &case.set {
            actor
                .settings
                .extend(settings(path, text, set, "case.set")?);
        }
        let expect = expect(path, text, &case.expect)?;
        cases.push(TestCase {
            name: case.name,
            actor,
            sql: case.sql,
            expect,
            line: line_col(text, span.start).0,
        });
    }
    Ok(TestFile {
        path: path.to_path_buf(),
        setup: raw.setup,
        cases,
    })
}

fn located(
    path: &Path,
    text: &str,
    span: Range<usize>,
    key: Option<String>,
    message: String,
) -> SecureError {
    let (line, column) = line_col(text, span.start);
    SecureError::TestFile {
        path: path.to_path_buf(),
        line,
        column,
        key,
        message,
    }
}

fn actor(
    path: &Path,
    text: &str,
    case: &RawCase,
    span: Range<usize>,
) -> Result<Actor, SecureError> {
    let bad = |span: Range<usize>, key: &str, message: String| {
        located(path, text, span, Some(key.to_string()), message)
    };
    let mut role: Option<String> = case.role.as_ref().map(|r| r.get_ref().clone());
    let mut claims = Map::new();
    if let Some(c) = &case.claims {
        claims = to_json(c.get_ref());
    }
    match (&case.actor, &case.role) {
        (Some(a), Some(_)) => {
            return Err(bad(
                a.span(),
                "as",
                "give either `as` or `role`, not both".into(),
            ))
        }
        (None, None) => {
            return Err(bad(
                span,
                "as",
                format!(
                    "case \"{}\" says nobody to run as: add as = {{ role = \"authenticated\", sub = \"…\" }} or as = {{ role = \"anon\" }}",
                    case.name
                ),
            ))
        }
        _ => {}
    }
    if let Some(a) = &case.actor {
        match a.get_ref() {
            toml::Value::String(r) => role = Some(r.clone()),
            toml::Value::Table(t) => {
                for (key, value) in t {
                    match (key.as_str(), value) {
                        ("role", toml::Value::String(r)) => role = Some(r.clone()),
                        ("sub", toml::Value::String(s)) => {
                            claims.insert("sub".into(), Value::String(s.clone()));
                        }
                        ("claims", toml::Value::Table(c)) => {
                            for (k, v) in to_json(c) {
                                claims.entry(k).or_insert(v);
                            }
                        }
                        ("role" | "sub", _) => {
                            return Err(bad(
                                a.span(),
                                &format!("as.{key}"),
                                "expected a string".into(),
                            ))
                        }
                        ("claims", _) => {
                            return Err(bad(
                                a.span(),
                                "as.claims",
                                "expected a table such as { sub = \"…\", email = \"…\" }".into(),
                            ))
                        }
                        _ => {
                            return Err(bad(
                                a.span(),
                                &format!("as.{key}"),
                                format!("unknown key `{key}`, expected role, sub or claims"),
                            ))
                        }
                    }
                }
            }
            _ => {
                return Err(bad(
                    a.span(),
                    "as",
                    "expected a role name or a table { role = …, sub = …, claims = { … } }".into(),
                ))
            }
        }
    }
    if role.is_none() {
        role = claims
            .get("role")
            .and_then(Value::as_str)
            .map(str::to_string);
    }
    let Some(role) = role else {
        let s = case.actor.as_ref().map(|a| a.span()).unwrap_or(span);
        return Err(bad(s, "as.role", "missing the role to run as".into()));
    };
    Ok(Actor {
        role,
        claims,
        settings: BTreeMap::new(),
    })
}

/// A `set = { name = value }` table: dotted names, values as text (numbers and booleans are
/// written the way PostgreSQL prints them).
fn settings(
    path: &Path,
    text: &str,
    table: &Spanned<toml::Table>,
    key: &str,
) -> Result<BTreeMap<String, String>, SecureError> {
    let mut out = BTreeMap::new();
    for (name, value) in table.get_ref() {
        let bad = |message: String| {
            located(
                path,
                text,
                table.span(),
                Some(format!("{key}.{name}")),
                message,
            )
        };
        crate::impersonate::check_setting_name(name).map_err(bad)?;
        let value = match value {
            toml::Value::String(s) => s.clone(),
            toml::Value::Integer(n) => n.to_string(),
            toml::Value::Float(f) => f.to_string(),
            toml::Value::Boolean(b) => if *b { "on" } else { "off" }.to_string(),
            _ => return Err(bad("expected a string, number or boolean".into())),
        };
        out.insert(name.clone(), value);
    }
    Ok(out)
}

fn expect(path: &Path, text: &str, table: &Spanned<toml::Table>) -> Result<Expect, SecureError> {
    let bad = |key: &str, message: String| {
        located(path, text, table.span(), Some(key.to_string()), message)
    };
    let t = table.get_ref();
    if t.len() != 1 {
        return Err(bad(
            "expect",
            "give exactly one of rows, rows_at_least, error, denied".into(),
        ));
    }
    let (key, value) = t.iter().next().expect("one entry");
    let count = |v: &toml::Value| match v {
        toml::Value::Integer(n) if *n >= 0 => Ok(*n as u64),
        _ => Err(bad(
            &format!("expect.{key}"),
            "expected a non-negative integer".into(),
        )),
    };
    match key.as_str() {
        "rows" => Ok(Expect::Rows(count(value)?)),
        "rows_at_least" => Ok(Expect::RowsAtLeast(count(value)?)),
        "error" => match value {
            toml::Value::String(s) if !s.is_empty() => Ok(Expect::Error(s.clone())),
            _ => Err(bad(
                "expect.error",
                "expected a SQLSTATE such as \"42501\" or message text".into(),
            )),
        },
        "denied" => match value {
            toml::Value::Boolean(true) => Ok(Expect::Denied),
            _ => Err(bad(
                "expect.denied",
                "expected `true` (use rows = N to expect rows)".into(),
            )),
        },
        other => Err(bad(
            &format!("expect.{other}"),
            format!("unknown expectation `{other}`, expected rows, rows_at_least, error or denied"),
        )),
    }
}

fn to_json(table: &toml::Table) -> Map<String, Value> {
    match serde_json::to_value(table) {
        Ok(Value::Object(map)) => map,
        _ => Map::new(),
    }
}

/// 1-based line and column of a byte offset.
fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

/// The first backquoted name in a serde message: "missing field `sql`", "unknown field `x`".
fn key_in_message(message: &str) -> Option<String> {
    let start = message.find('`')? + 1;
    let end = start + message[start..].find('`')?;
    Some(message[start..end].to_string())
}

/// The key whose value starts at `offset`: the bare or quoted key before the `=`.
fn key_before(text: &str, offset: usize) -> Option<String> {
    let before = text.get(..offset)?.trim_end();
    let before = before.strip_suffix('=')?.trim_end();
    let key: String = before
        .chars()
        .rev()
        .take_while(|c| {
            c.is_ascii_alphanumeric() || *c == '_' || *c == '-' || *c == '.' || *c == '"'
        })
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    let key = key.trim_matches('"').to_string();
    (!key.is_empty()).then_some(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<TestFile, SecureError> {
        parse_test_file(Path::new("tests/rls/t.toml"), text)
    }

    #[test]
    fn parses_every_actor_form() {
        let file = parse(
            r#"
setup = ["select 1"]
[[case]]
name = "a"
as = { role = "authenticated", sub = "u1" }
sql = "select 1"
expect = { rows = 1 }
[[case]]
name = "b"
role = "anon"
sql = "select 1"
expect = { denied = true }
[[case]]
name = "c"
as = { role = "authenticated", claims = { sub = "u2", app_metadata = { admin = true } } }
sql = "select 1"
expect = { error = "42501" }
[[case]]
name = "d"
as = "anon"
sql = "select 1"
expect = { rows_at_least = 0 }
"#,
        )
        .unwrap();
        assert_eq!(file.setup, ["select 1"]);
        assert_eq!(file.cases.len(), 4);
        assert_eq!(file.cases[0].actor.sub(), Some("u1"));
        assert_eq!(file.cases[0].line, 3, "the [[case]] header");
        assert_eq!(file.cases[1].actor.role, "anon");
        assert_eq!(file.cases[1].expect, Expect::Denied);
        assert_eq!(file.cases[2].actor.sub(), Some("u2"));
        assert_eq!(file.cases[2].actor.claims["app_metadata"]["admin"], true);
        assert_eq!(file.cases[3].expect, Expect::RowsAtLeast(0));
    }

    fn error_text(text: &str) -> String {
        let e = parse(text).unwrap_err();
        assert_eq!(e.exit_code(), 2);
        e.to_string()
    }

    #[test]
    fn errors_name_file_line_and_key() {
        let e = error_text("[[case]]\nname = \"a\"\nas = \"anon\"\nsql = \"select 1\"\nexpect = { rows = \"2\" }\n");
        assert!(e.starts_with("tests/rls/t.toml:5:"), "{e}");
        assert!(e.contains("expect.rows"), "{e}");
        let e = error_text(
            "[[case]]\nname = \"a\"\nas = \"anon\"\nsqll = \"select 1\"\nexpect = { rows = 2 }\n",
        );
        assert!(e.contains("tests/rls/t.toml:4:"), "{e}");
        assert!(e.contains("sqll"), "{e}");
        let e = error_text("[[case]]\nname = \"a\"\nas = \"anon\"\nsql = \"select 1\"\nexpect = { rows = 2, denied = true }\n");
        assert!(e.contains(":5:") && e.contains("key `expect`"), "{e}");
        let e = error_text("[[case]]\nname = \"a\"\nas = { role = \"anon\", subject = \"x\" }\nsql = \"select 1\"\nexpect = { rows = 2 }\n");
        assert!(e.contains(":3:") && e.contains("as.subject"), "{e}");
        let e = error_text("[[case]]\nname = \"a\"\nas = \"anon\"\nexpect = { rows = 2 }\n");
        assert!(e.contains("key `sql`"), "{e}");
        let e = error_text("setup = [\"x\"\n[[case]]\n");
        assert!(e.starts_with("tests/rls/t.toml:"), "{e}");
    }
}
