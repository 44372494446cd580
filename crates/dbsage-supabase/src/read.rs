//! Reading another tool's migration files as they are, without renaming them.
//!
//! dbsage's own files are `<14-digit version>_<name>.sql` with an optional `.down.sql`; adopted
//! projects keep the other tool's names and versions, so the Supabase CLI, sqlx, dbmate or Flyway
//! and dbsage can run side by side during a switch. Each reader follows its tool's own rules:
//! files the tool ignores are ignored here too.

use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::LazyLock;

use regex::Regex;

use crate::error::AdoptError;
use crate::layout::{file_name, sql_files, Layout};

/// One migration of an adopted project.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdoptedMigration {
    /// The version as the tool records it in its history: Supabase and dbmate keep the digits,
    /// sqlx the digits (it stores them as a bigint, so `0001` is recorded as `1`; match with
    /// [`same_version`]), Flyway the dotted form (`V1_2__x.sql` is version `1.2`).
    pub version: String,
    /// The name part of the file name, as written (`create_users`).
    pub name: String,
    /// The file holding the up migration.
    pub path: PathBuf,
    pub up_sql: String,
    pub down_sql: Option<String>,
    /// Where `down_sql` came from: a separate file (sqlx `.down.sql`, Flyway `U…__`), or the
    /// same file as `path` (dbmate's `-- migrate:down` section).
    pub down_path: Option<PathBuf>,
    /// The tool was told to run it outside a transaction (sqlx's first-line `-- no-transaction`,
    /// dbmate's `-- migrate:up transaction:false`).
    pub no_transaction: bool,
}

/// An adopted migrations folder as its tool sees it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LayoutFiles {
    pub migrations: Vec<AdoptedMigration>,
    /// `.sql` files the tool skips because their names do not follow its rule: skipped here too,
    /// and worth saying once so nobody wonders why they never run.
    pub ignored: Vec<PathBuf>,
}

/// Reads every migration of `layout` in `dir`, in the order the tool applies them (numeric where
/// versions are numeric). A missing directory yields no migrations: a fresh project has none.
pub fn read_migrations(layout: Layout, dir: &Path) -> Result<Vec<AdoptedMigration>, AdoptError> {
    read_layout(layout, dir).map(|files| files.migrations)
}

/// [`read_migrations`], with the files the tool ignores.
pub fn read_layout(layout: Layout, dir: &Path) -> Result<LayoutFiles, AdoptError> {
    let mut ignored = Vec::new();
    let mut migrations = match layout {
        Layout::Supabase => read_supabase(dir, &mut ignored)?,
        Layout::Sqlx => read_sqlx(dir, &mut ignored)?,
        Layout::Dbmate => read_dbmate(dir, &mut ignored)?,
        Layout::Flyway => read_flyway(dir, &mut ignored)?,
        Layout::Prisma => crate::read_dirs::read_prisma(dir, &mut ignored)?,
        Layout::Diesel => crate::read_dirs::read_diesel(dir, &mut ignored)?,
        Layout::GolangMigrate => read_golang_migrate(dir, &mut ignored)?,
        Layout::Drizzle => crate::read_drizzle::read_drizzle(dir, &mut ignored)?,
    };
    migrations.sort_by(|a, b| compare_versions(&a.version, &b.version));
    reject_duplicates(&migrations)?;
    Ok(LayoutFiles {
        migrations,
        ignored,
    })
}

static SUPABASE_NAME: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^([0-9]+)_(.*)\.sql$").unwrap());
static SQLX_NAME: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^([0-9]+)_(.+?)(\.up|\.down)?\.sql$").unwrap());
static DBMATE_NAME: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^([0-9]+)_?(.*)\.sql$").unwrap());
static FLYWAY_NAME: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^([VUR])([0-9]+(?:[._][0-9]+)*)?__(.+)\.sql$").unwrap());
static GOLANG_MIGRATE_NAME: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^([0-9]+)_(.*)\.(up|down)\.sql$").unwrap());
static DBMATE_MARKER: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?m)^--\s*migrate:(up|down)\b(.*)$").unwrap());

/// The Supabase CLI applies every `<digits>_<name>.sql` in `supabase/migrations` and skips other
/// files; it has no down migrations (a `.down.sql` there would be applied as an up migration by
/// the CLI, so it is read as one here too).
fn read_supabase(
    dir: &Path,
    ignored: &mut Vec<PathBuf>,
) -> Result<Vec<AdoptedMigration>, AdoptError> {
    let mut found = Vec::new();
    for path in sql_files(dir, false) {
        let file = file_name(&path);
        let Some(caps) = SUPABASE_NAME.captures(&file) else {
            ignored.push(path);
            continue;
        };
        found.push(plain(
            caps[1].to_string(),
            caps[2].to_string(),
            read_text(&path)?,
            path,
        ));
    }
    Ok(found)
}

/// `<version>_<name>.sql` (simple) or `<version>_<name>.up.sql` + `.down.sql` (reversible).
pub(crate) fn parse_sqlx_name(file: &str) -> Option<(String, String, SqlxKind)> {
    let caps = SQLX_NAME.captures(file)?;
    let kind = match caps.get(3).map(|m| m.as_str()) {
        Some(".up") => SqlxKind::Up,
        Some(".down") => SqlxKind::Down,
        _ => SqlxKind::Simple,
    };
    Some((caps[1].to_string(), caps[2].to_string(), kind))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SqlxKind {
    Simple,
    Up,
    Down,
}

fn read_sqlx(dir: &Path, ignored: &mut Vec<PathBuf>) -> Result<Vec<AdoptedMigration>, AdoptError> {
    let mut ups: BTreeMap<(String, String), AdoptedMigration> = BTreeMap::new();
    let mut downs = Vec::new();
    for path in sql_files(dir, false) {
        let Some((version, name, kind)) = parse_sqlx_name(&file_name(&path)) else {
            ignored.push(path);
            continue;
        };
        if kind == SqlxKind::Down {
            downs.push((version, name, path));
            continue;
        }
        let key = (version.clone(), name.clone());
        if let Some(other) = ups.get(&key) {
            // `1_x.sql` beside `1_x.up.sql`.
            return Err(AdoptError::DuplicateVersion {
                version,
                first: other.path.clone(),
                second: path,
            });
        }
        let text = read_text(&path)?;
        let mut migration = plain(version, name, text, path);
        migration.no_transaction = first_line_is(&migration.up_sql, "-- no-transaction");
        ups.insert(key, migration);
    }
    for (version, name, path) in downs {
        let Some(up) = ups.get_mut(&(version.clone(), name.clone())) else {
            return Err(AdoptError::OrphanDown {
                path,
                expected: format!("{version}_{name}.up.sql"),
            });
        };
        up.down_sql = Some(read_text(&path)?);
        up.down_path = Some(path);
    }
    Ok(ups.into_values().collect())
}

/// Whether `text` has dbmate's `-- migrate:up` marker (how dbmate files are told apart).
pub(crate) fn has_dbmate_up_marker(text: &str) -> bool {
    DBMATE_MARKER.captures_iter(text).any(|c| &c[1] == "up")
}

/// One dbmate file holds both directions; each section runs from its marker to the next marker.
fn read_dbmate(
    dir: &Path,
    ignored: &mut Vec<PathBuf>,
) -> Result<Vec<AdoptedMigration>, AdoptError> {
    let mut found = Vec::new();
    for path in sql_files(dir, false) {
        let file = file_name(&path);
        let Some(caps) = DBMATE_NAME.captures(&file) else {
            ignored.push(path);
            continue;
        };
        let (version, name) = (caps[1].to_string(), caps[2].to_string());
        let text = read_text(&path)?;
        let sections = split_dbmate_sections(&text);
        let Some(up) = sections.up else {
            return Err(AdoptError::MissingUpSection { path });
        };
        let down = sections.down.filter(|d| !d.trim().is_empty());
        found.push(AdoptedMigration {
            version,
            name,
            down_path: down.as_ref().map(|_| path.clone()),
            path,
            up_sql: up,
            down_sql: down,
            no_transaction: sections.up_options.contains("transaction:false"),
        });
    }
    Ok(found)
}

/// The sections of a dbmate file: the text after each marker line up to the next marker.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct DbmateSections {
    pub up: Option<String>,
    pub down: Option<String>,
    /// What follows `-- migrate:up` on its line (`transaction:false`).
    pub up_options: String,
}

pub(crate) fn split_dbmate_sections(text: &str) -> DbmateSections {
    let markers: Vec<_> = DBMATE_MARKER.captures_iter(text).collect();
    let mut sections = DbmateSections::default();
    for (i, caps) in markers.iter().enumerate() {
        let whole = caps.get(0).unwrap();
        // The body starts on the line after the marker.
        let start = text[whole.end()..]
            .find('\n')
            .map_or(text.len(), |n| whole.end() + n + 1);
        let end = markers
            .get(i + 1)
            .map_or(text.len(), |next| next.get(0).unwrap().start());
        let body = text[start..end.max(start)].to_string();
        if &caps[1] == "up" {
            sections.up = Some(body);
            sections.up_options = caps[2].trim().to_string();
        } else {
            sections.down = Some(body);
        }
    }
    sections
}

/// Flyway's names: `V<version>__<description>.sql` (versioned), `U<version>__…` (undo),
/// `R__…` (repeatable). Returns the prefix letter, the dotted version and the description.
pub(crate) fn parse_flyway_name(file: &str) -> Option<(char, String, String)> {
    let caps = FLYWAY_NAME.captures(file)?;
    let prefix = caps[1].chars().next()?;
    let version = caps.get(2).map(|m| m.as_str().replace('_', "."));
    match (prefix, version) {
        ('R', None) => Some(('R', String::new(), caps[3].to_string())),
        ('V' | 'U', Some(version)) => Some((prefix, version, caps[3].to_string())),
        _ => None,
    }
}

/// Flyway scans its locations recursively. Undo scripts (`U…`, a Flyway Teams feature) become the
/// down migration of the same version. Repeatable migrations (`R__…`) are re-run by Flyway
/// whenever they change, which dbsage's versioned history cannot express: they are refused rather
/// than silently dropped.
fn read_flyway(
    dir: &Path,
    ignored: &mut Vec<PathBuf>,
) -> Result<Vec<AdoptedMigration>, AdoptError> {
    let mut versioned: Vec<AdoptedMigration> = Vec::new();
    let mut undos = Vec::new();
    for path in sql_files(dir, true) {
        let Some((prefix, version, name)) = parse_flyway_name(&file_name(&path)) else {
            ignored.push(path);
            continue;
        };
        match prefix {
            'R' => {
                return Err(AdoptError::Unsupported {
                    path,
                    reason: "Flyway repeatable migrations (R__) are re-applied whenever they \
                             change; dbsage only has versioned migrations. Turn it into a \
                             versioned V<n>__ migration (e.g. with CREATE OR REPLACE) first"
                        .into(),
                })
            }
            'U' => undos.push((version, path)),
            _ => versioned.push(plain(version, name, read_text(&path)?, path)),
        }
    }
    for (version, path) in undos {
        let Some(up) = versioned
            .iter_mut()
            .find(|m| compare_versions(&m.version, &version) == Ordering::Equal)
        else {
            return Err(AdoptError::OrphanDown {
                path,
                expected: format!("V{version}__<description>.sql"),
            });
        };
        up.down_sql = Some(read_text(&path)?);
        up.down_path = Some(path);
    }
    Ok(versioned)
}

/// `<version>_<name>.up.sql` / `.down.sql`, golang-migrate's rule (its source driver reads any
/// extension; dbsage reads the `.sql` ones).
pub(crate) fn parse_golang_migrate_name(file: &str) -> Option<(String, String, bool)> {
    let caps = GOLANG_MIGRATE_NAME.captures(file)?;
    Some((caps[1].to_string(), caps[2].to_string(), &caps[3] == "up"))
}

/// golang-migrate pairs files by version; its history stores the version as a bigint.
fn read_golang_migrate(
    dir: &Path,
    ignored: &mut Vec<PathBuf>,
) -> Result<Vec<AdoptedMigration>, AdoptError> {
    let mut ups: Vec<AdoptedMigration> = Vec::new();
    let mut downs = Vec::new();
    for path in sql_files(dir, false) {
        let Some((version, name, up)) = parse_golang_migrate_name(&file_name(&path)) else {
            ignored.push(path);
            continue;
        };
        if up {
            ups.push(plain(version, name, read_text(&path)?, path));
        } else {
            downs.push((version, name, path));
        }
    }
    for (version, name, path) in downs {
        let Some(up) = ups.iter_mut().find(|m| same_version(&m.version, &version)) else {
            return Err(AdoptError::OrphanDown {
                path,
                expected: format!("{version}_{name}.up.sql"),
            });
        };
        up.down_sql = Some(read_text(&path)?);
        up.down_path = Some(path);
    }
    Ok(ups)
}

pub(crate) fn plain(
    version: String,
    name: String,
    up_sql: String,
    path: PathBuf,
) -> AdoptedMigration {
    AdoptedMigration {
        version,
        name,
        path,
        up_sql,
        down_sql: None,
        down_path: None,
        no_transaction: false,
    }
}

pub(crate) fn read_text(path: &Path) -> Result<String, AdoptError> {
    let bytes = fs::read(path).map_err(|e| AdoptError::io(path, e))?;
    String::from_utf8(bytes).map_err(|_| AdoptError::NotUtf8 {
        path: path.to_path_buf(),
    })
}

fn first_line_is(text: &str, marker: &str) -> bool {
    text.lines().next().is_some_and(|l| l.trim() == marker)
}

fn reject_duplicates(sorted: &[AdoptedMigration]) -> Result<(), AdoptError> {
    for pair in sorted.windows(2) {
        if compare_versions(&pair[0].version, &pair[1].version) == Ordering::Equal {
            return Err(AdoptError::DuplicateVersion {
                version: pair[1].version.clone(),
                first: pair[0].path.clone(),
                second: pair[1].path.clone(),
            });
        }
    }
    Ok(())
}

/// One dot-separated part of a version: numbers compare as numbers, anything else as text.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum VersionPart {
    Number(u128),
    Text(String),
}

fn version_parts(version: &str) -> Vec<VersionPart> {
    let mut parts: Vec<VersionPart> = version
        .split('.')
        .map(|p| match p.parse::<u128>() {
            Ok(n) => VersionPart::Number(n),
            Err(_) => VersionPart::Text(p.to_string()),
        })
        .collect();
    // Flyway treats 1.0 and 1 as the same version.
    while parts.len() > 1 && parts.last() == Some(&VersionPart::Number(0)) {
        parts.pop();
    }
    parts
}

/// Orders versions the way the tools do: numerically part by part (`2` before `10`, `1.2`
/// before `1.10`, `0001` equal to `1`), falling back to text for non-numeric parts.
pub fn compare_versions(a: &str, b: &str) -> Ordering {
    version_parts(a).cmp(&version_parts(b))
}

/// Whether two spellings name the same version (`0001` and `1`, Flyway's `1.0` and `1`).
pub fn same_version(a: &str, b: &str) -> bool {
    compare_versions(a, b) == Ordering::Equal
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_compare_numerically() {
        assert_eq!(compare_versions("2", "10"), Ordering::Less);
        assert_eq!(compare_versions("1.2", "1.10"), Ordering::Less);
        assert!(same_version("0001", "1"));
        assert!(same_version("1.0", "1"));
        assert_eq!(
            compare_versions("20240101000000", "20240101000001"),
            Ordering::Less
        );
    }

    #[test]
    fn dbmate_sections_split_at_markers() {
        let s = split_dbmate_sections(
            "-- migrate:up transaction:false\ncreate index concurrently i on t (a);\n\n-- migrate:down\ndrop index i;\n",
        );
        assert_eq!(
            s.up.as_deref(),
            Some("create index concurrently i on t (a);\n\n")
        );
        assert_eq!(s.down.as_deref(), Some("drop index i;\n"));
        assert_eq!(s.up_options, "transaction:false");
        assert_eq!(
            split_dbmate_sections("select 1;"),
            DbmateSections::default()
        );
    }

    #[test]
    fn flyway_names() {
        assert_eq!(
            parse_flyway_name("V1_2__add_users.sql"),
            Some(('V', "1.2".into(), "add_users".into()))
        );
        assert_eq!(
            parse_flyway_name("U3__drop.sql"),
            Some(('U', "3".into(), "drop".into()))
        );
        assert_eq!(
            parse_flyway_name("R__views.sql"),
            Some(('R', String::new(), "views".into()))
        );
        assert_eq!(parse_flyway_name("V__x.sql"), None);
        assert_eq!(parse_flyway_name("R1__x.sql"), None);
        assert_eq!(parse_flyway_name("1_x.sql"), None);
    }

    #[test]
    fn sqlx_names() {
        assert_eq!(
            parse_sqlx_name("0001_users.up.sql"),
            Some(("0001".into(), "users".into(), SqlxKind::Up))
        );
        assert_eq!(
            parse_sqlx_name("20240101000000_add_users.sql"),
            Some((
                "20240101000000".into(),
                "add_users".into(),
                SqlxKind::Simple
            ))
        );
        assert_eq!(parse_sqlx_name("readme.sql"), None);
    }
}
