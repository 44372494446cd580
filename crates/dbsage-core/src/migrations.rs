//! Migration files on disk: `<14-digit UTC version>_<name>.sql`, an optional
//! `<version>_<name>.down.sql`, their checksums, and creating new ones.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::error::{Error, Result};

/// One migration as found on disk.
#[derive(Debug, Clone)]
pub struct MigrationFile {
    pub version: String,
    pub name: String,
    pub path: PathBuf,
    pub text: String,
    pub checksum: String,
    pub down: Option<DownFile>,
    /// The adopted tool runs this file outside a transaction (sqlx `-- no-transaction`, dbmate
    /// `transaction:false`, diesel `run_in_transaction = false`, a lone CONCURRENTLY statement
    /// under Prisma).
    pub tool_no_transaction: bool,
}

#[derive(Debug, Clone)]
pub struct DownFile {
    pub path: PathBuf,
    pub text: String,
    pub checksum: String,
}

impl MigrationFile {
    pub fn no_transaction(&self) -> bool {
        self.tool_no_transaction || dbsage_sql::is_no_transaction(&self.text)
    }
    /// The down file's checksum, "" without one: recorded with the history row, compared by
    /// `rollback` before it runs the down file.
    pub fn down_checksum(&self) -> &str {
        self.down.as_ref().map_or("", |d| d.checksum.as_str())
    }
    /// `version_name`, as users read it.
    pub fn label(&self) -> String {
        format!("{}_{}", self.version, self.name)
    }
}

/// SHA-256 of the text with CRLF normalised to LF: line endings alone never change a checksum.
pub fn checksum(text: &str) -> String {
    let normalised = text.replace("\r\n", "\n");
    hex::encode(Sha256::digest(normalised.as_bytes()))
}

/// One hash for the whole migration set (versions, checksums and down checksums): what a local
/// pass stamp certifies.
pub fn set_hash(files: &[MigrationFile]) -> String {
    let mut h = Sha256::new();
    for f in files {
        h.update(f.version.as_bytes());
        h.update(b"\0");
        h.update(f.checksum.as_bytes());
        h.update(b"\0");
        if let Some(d) = &f.down {
            h.update(d.checksum.as_bytes());
        }
        h.update(b"\n");
    }
    hex::encode(h.finalize())
}

enum Kind {
    Up,
    Down,
}

/// Which file names a folder accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum NameRule {
    /// dbsage's own: a badly named `.sql` file is an error.
    Dbsage,
    /// The Supabase CLI's `^([0-9]+)_(.*)\.sql$`: any digits, any name; it skips other files, and
    /// so does dbsage (saying so). dbsage's `.down.sql` pairing is kept.
    Supabase,
}

fn parse_name(file_name: &str, rule: NameRule) -> Option<(String, String, Kind)> {
    let (stem, kind) = if let Some(s) = file_name.strip_suffix(".down.sql") {
        (s, Kind::Down)
    } else {
        (file_name.strip_suffix(".sql")?, Kind::Up)
    };
    let (version, name) = stem.split_once('_')?;
    if rule == NameRule::Supabase {
        let digits = !version.is_empty() && version.bytes().all(|b| b.is_ascii_digit());
        return digits.then(|| (version.to_string(), name.to_string(), kind));
    }
    let valid_version = version.len() == 14 && version.bytes().all(|b| b.is_ascii_digit());
    let valid_name = !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    (valid_version && valid_name).then(|| (version.to_string(), name.to_string(), kind))
}

fn read_utf8(path: &Path) -> Result<String> {
    let bytes = fs::read(path).map_err(|e| Error::io(format!("reading {}", path.display()), e))?;
    String::from_utf8(bytes).map_err(|e| Error::Config {
        message: format!(
            "{} is not valid UTF-8 (invalid byte at offset {})",
            path.display(),
            e.utf8_error().valid_up_to()
        ),
        hint: "save the file as UTF-8".into(),
    })
}

/// Reads every migration in `dir`, sorted by version. Nothing that looks like a migration is
/// skipped silently: every `.sql` file dbsage cannot use (badly named, wrong-case extension,
/// non-UTF-8 name, dangling symlink, duplicate version or name, down file without its up file)
/// is listed in one error; unrelated files (README.md, .gitkeep) are ignored.
pub fn discover(dir: &Path) -> Result<Vec<MigrationFile>> {
    read_folder(dir, false, NameRule::Dbsage, &mut Vec::new())
}

/// `discover`, optionally allowing one name for several versions: `supabase db pull` names
/// every file it writes `<version>_remote_schema.sql`. Under a tool's `rule`, files it skips
/// land in `ignored`.
fn read_folder(
    dir: &Path,
    allow_duplicate_names: bool,
    rule: NameRule,
    ignored: &mut Vec<PathBuf>,
) -> Result<Vec<MigrationFile>> {
    let paths = folder_entries(dir)?;
    let mut problems = Vec::new();
    let mut ups: BTreeMap<String, MigrationFile> = BTreeMap::new();
    let mut downs: Vec<(String, String, PathBuf)> = Vec::new();
    for path in paths {
        let Some(file_name) = usable_sql_name(&path, &mut problems) else {
            continue;
        };
        let Some((version, name, kind)) = parse_name(&file_name, rule) else {
            if rule == NameRule::Supabase {
                ignored.push(path);
                continue;
            }
            problems.push(format!(
                "{}: does not follow the naming <14-digit version>_<name>.sql (e.g. 20261121093000_add_users.sql; `dbsage new NAME` creates one)",
                path.display()
            ));
            continue;
        };
        match kind {
            Kind::Down => downs.push((version, name, path)),
            Kind::Up => {
                if let Some(other) = ups.get(&version) {
                    problems.push(format!(
                        "{}: has the same version {version} as {}; give one of them a new version (a later timestamp)",
                        path.display(),
                        other.path.display()
                    ));
                    continue;
                }
                let same_name = ups.values().find(|u| u.name == name);
                if let Some(other) = same_name.filter(|_| !allow_duplicate_names) {
                    problems.push(format!(
                        "{}: has the same name `{name}` as {}; rename one of them so each migration says what it does",
                        path.display(),
                        other.path.display()
                    ));
                    continue;
                }
                let text = match read_utf8(&path) {
                    Ok(text) => text,
                    Err(e) => {
                        problems.push(e.to_string());
                        continue;
                    }
                };
                if crate::folder_fixtures::is_fixture(&text) {
                    continue; // data for `migrate --local`, not a migration
                }
                ups.insert(
                    version.clone(),
                    MigrationFile {
                        checksum: checksum(&text),
                        version,
                        name,
                        path,
                        text,
                        down: None,
                        tool_no_transaction: false,
                    },
                );
            }
        }
    }
    for (version, name, path) in downs {
        let Some(up) = ups.get_mut(&version).filter(|u| u.name == name) else {
            problems.push(format!(
                "{}: down file with no matching up migration (expected {version}_{name}.sql beside it)",
                path.display()
            ));
            continue;
        };
        match read_utf8(&path) {
            Ok(text) => {
                up.down = Some(DownFile {
                    checksum: checksum(&text),
                    path,
                    text,
                })
            }
            Err(e) => problems.push(e.to_string()),
        }
    }
    unusable_files_error(dir, problems)?;
    Ok(ups.into_values().collect())
}

/// The entries of the migrations folder, sorted.
fn folder_entries(dir: &Path) -> Result<Vec<PathBuf>> {
    let entries = match fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(Error::Config {
                message: format!("the migrations directory {} does not exist", dir.display()),
                hint: "run `dbsage init`, or set migrations.dir in dbsage.toml".into(),
            })
        }
        Err(e) => return Err(Error::io(format!("reading {}", dir.display()), e)),
    };
    let mut paths = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| Error::io(format!("reading {}", dir.display()), e))?;
        paths.push(entry.path());
    }
    paths.sort();
    Ok(paths)
}

/// The name of `path` when it is a readable `.sql` file; `None` for unrelated entries, and for
/// files that look like migrations but cannot be used (noted in `problems`).
fn usable_sql_name(path: &Path, problems: &mut Vec<String>) -> Option<String> {
    let raw_name = path.file_name()?;
    let lossy = raw_name.to_string_lossy();
    if !lossy.to_ascii_lowercase().ends_with(".sql") {
        return None;
    }
    let Some(name) = raw_name.to_str() else {
        problems.push(format!(
            "{}: the file name is not valid UTF-8; rename it",
            path.display()
        ));
        return None;
    };
    if !name.ends_with(".sql") {
        problems.push(format!(
            "{}: the extension must be lowercase `.sql`; rename it",
            path.display()
        ));
        return None;
    }
    match fs::metadata(path) {
        Ok(meta) if meta.is_file() => Some(name.to_string()),
        Ok(meta) if meta.is_dir() => {
            problems.push(format!(
                "{}: is a directory, not a migration file",
                path.display()
            ));
            None
        }
        Ok(_) => {
            problems.push(format!("{}: is not a regular file", path.display()));
            None
        }
        Err(e) => {
            let why = match fs::read_link(path) {
                Ok(target) => format!(
                    "dangling symlink (its target {} does not exist)",
                    target.display()
                ),
                Err(_) => format!("cannot be read ({e})"),
            };
            problems.push(format!("{}: {why}", path.display()));
            None
        }
    }
}

/// One error listing every unusable file, or `Ok` when there is none.
fn unusable_files_error(dir: &Path, problems: Vec<String>) -> Result<()> {
    if problems.is_empty() {
        return Ok(());
    }
    Err(Error::Config {
        message: format!(
            "{} in the migrations folder {} look like migrations but cannot be used:\n  - {}",
            crate::wording::plural(problems.len(), "file"),
            dir.display(),
            problems.join("\n  - ")
        ),
        hint: "fix or move each file listed: dbsage never skips a migration silently".into(),
    })
}

/// The same checks for an adopted tool's folder, whose reader skips names it does not know:
/// non-UTF-8 names, wrong-case extensions and dangling symlinks are reported here instead.
fn check_adopted_folder(dir: &Path) -> Result<()> {
    let paths = match folder_entries(dir) {
        Ok(paths) => paths,
        // A fresh project has no folder yet: the tool's reader decides.
        Err(_) => return Ok(()),
    };
    let mut problems = Vec::new();
    for path in paths {
        usable_sql_name(&path, &mut problems);
    }
    unusable_files_error(dir, problems)
}

/// The project's migrations, read according to its layout: dbsage's own naming, or an adopted
/// tool's files read in place (never renamed).
pub fn discover_project(project: &crate::config::Project) -> Result<Vec<MigrationFile>> {
    discover_project_noting(project).map(|d| d.files)
}

/// What [`discover_project_noting`] found.
#[derive(Debug, Clone, Default)]
pub struct Discovered {
    pub files: Vec<MigrationFile>,
    /// `.sql` files the adopted tool skips (their names break its rule): skipped here too.
    pub ignored: Vec<PathBuf>,
    /// Adopted files with BEGIN/COMMIT of their own: run as their tool runs them, statement
    /// by statement outside dbsage's transaction.
    pub own_transactions: Vec<PathBuf>,
}

impl Discovered {
    /// One line saying which files are ignored and why, `None` when none is.
    pub fn ignored_note(&self, project: &crate::config::Project) -> Option<String> {
        let layout = project.layout()?;
        if self.ignored.is_empty() {
            return None;
        }
        let names: Vec<String> = self
            .ignored
            .iter()
            .map(|p| {
                p.file_name()
                    .unwrap_or_default()
                    .to_string_lossy()
                    .into_owned()
            })
            .collect();
        Some(format!(
            "ignoring {} in {} that {layout} skips too (its names follow {}): {}",
            crate::wording::plural(names.len(), "file"),
            project.migrations_dir().display(),
            layout.name_rule(),
            names.join(", ")
        ))
    }

    /// One line naming the files that run with their own BEGIN/COMMIT, `None` when none does.
    pub fn own_transactions_note(&self, project: &crate::config::Project) -> Option<String> {
        let layout = project.layout()?;
        if self.own_transactions.is_empty() {
            return None;
        }
        let names: Vec<String> = self
            .own_transactions
            .iter()
            .map(|p| p.display().to_string())
            .collect();
        Some(format!(
            "{} hold(s) BEGIN/COMMIT of their own: run as {layout} runs them, statement by \
             statement outside dbsage's transaction, the history row recorded afterwards in its \
             own transaction (a failure midway is reported as partial): {}",
            names.len(),
            names.join(", ")
        ))
    }
}

/// Whether `text` holds transaction control (BEGIN, COMMIT, END, ROLLBACK, SAVEPOINT…).
pub fn has_transaction_control(text: &str) -> bool {
    let mut found = false;
    let _ = dbsage_sql::for_each_statement(text, |s| {
        found |= matches!(s.node, dbsage_sql::NodeEnum::TransactionStmt(_));
    });
    found
}

/// Adopted files with transaction control of their own run outside dbsage's transaction, as
/// their tool runs them (dbsage's own files keep refusing it).
fn mark_own_transactions(discovered: &mut Discovered) {
    for file in &mut discovered.files {
        if !file.tool_no_transaction && has_transaction_control(&file.text) {
            file.tool_no_transaction = true;
            discovered.own_transactions.push(file.path.clone());
        }
    }
}

/// [`discover_project`], with the files the adopted tool ignores.
pub fn discover_project_noting(project: &crate::config::Project) -> Result<Discovered> {
    use dbsage_supabase::Layout;
    let dir = project.migrations_dir();
    let mut ignored = Vec::new();
    let layout = match project.layout() {
        None => {
            let files = read_folder(&dir, project.is_supabase(), NameRule::Dbsage, &mut ignored)?;
            return Ok(Discovered {
                files,
                ignored,
                ..Default::default()
            });
        }
        Some(Layout::Supabase) => {
            let files = read_folder(&dir, true, NameRule::Supabase, &mut ignored)?;
            let mut discovered = Discovered {
                files,
                ignored,
                ..Default::default()
            };
            mark_own_transactions(&mut discovered);
            return Ok(discovered);
        }
        Some(l) => l,
    };
    check_adopted_folder(&dir)?;
    let adopted = dbsage_supabase::read_layout(layout, &dir).map_err(|e| Error::Config {
        message: format!("reading the {layout} migrations in {}: {e}", dir.display()),
        hint: format!("{layout} names its files {}", layout.name_rule()),
    })?;
    let files = adopted
        .migrations
        .into_iter()
        .map(|m| {
            // dbmate keeps up and down in one file: blank the down section out (keeping line
            // breaks) so error positions still point at the right line of the file.
            let text = if layout == Layout::Dbmate {
                let full = fs::read_to_string(&m.path).unwrap_or_else(|_| m.up_sql.clone());
                match full.find("-- migrate:down") {
                    Some(at) => {
                        let blank: String = full[at..]
                            .chars()
                            .map(|c| if c == '\n' { '\n' } else { ' ' })
                            .collect();
                        format!("{}{blank}", &full[..at])
                    }
                    None => full,
                }
            } else {
                m.up_sql.clone()
            };
            MigrationFile {
                checksum: checksum(&text),
                version: m.version,
                name: m.name,
                down: m.down_sql.map(|d| DownFile {
                    checksum: checksum(&d),
                    path: m.down_path.clone().unwrap_or_else(|| m.path.clone()),
                    text: d,
                }),
                tool_no_transaction: m.no_transaction
                    || (layout == Layout::Prisma && lone_concurrent_statement(&text)),
                path: m.path,
                text,
            }
        })
        .collect();
    let mut discovered = Discovered {
        files,
        ignored: adopted.ignored,
        ..Default::default()
    };
    mark_own_transactions(&mut discovered);
    Ok(discovered)
}

/// Prisma sends `migration.sql` as one script: several statements run in one implicit
/// transaction, a single one on its own, which is how a lone `CREATE INDEX CONCURRENTLY` works
/// under Prisma. Such a file runs outside a transaction here too.
fn lone_concurrent_statement(text: &str) -> bool {
    let mut statements = 0;
    let mut concurrent = false;
    let scanned = dbsage_sql::for_each_statement(text, |s| {
        statements += 1;
        concurrent = text[s.code_start..s.range.end]
            .to_ascii_lowercase()
            .contains("concurrently");
    });
    scanned.is_ok() && statements == 1 && concurrent
}

/// Orders versions numerically part by part (`2` < `10`, `1.1` < `1.2`); dbsage's own 14-digit
/// versions compare as they sort.
pub fn compare_versions(a: &str, b: &str) -> std::cmp::Ordering {
    dbsage_supabase::compare_versions(a, b)
}

/// The current UTC time as a 14-digit version.
pub fn version_now() -> String {
    let now = time::OffsetDateTime::now_utc();
    now.format(time::macros::format_description!(
        "[year][month][day][hour][minute][second]"
    ))
    .expect("static format")
}

/// Turns a free-form name into `snake_case` fit for a file name.
pub fn slug(name: &str) -> String {
    let mut out = String::new();
    for c in name.trim().chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('_') && !out.is_empty() {
            out.push('_');
        }
    }
    out.trim_end_matches('_').to_string()
}

/// Creates `<version>_<name>.sql` (and the down file when asked); the version is the current
/// time, bumped past the newest existing version so files always sort after it.
pub fn create(
    dir: &Path,
    name: &str,
    with_down: bool,
    body: &str,
) -> Result<(PathBuf, Option<PathBuf>)> {
    let name = slug(name);
    if name.is_empty() {
        return Err(Error::Config {
            message: "the migration name is empty".into(),
            hint: "name it after what it does: `dbsage new add_user_preferences`".into(),
        });
    }
    fs::create_dir_all(dir).map_err(|e| Error::io(format!("creating {}", dir.display()), e))?;
    let existing = discover(dir)?;
    let mut version = version_now();
    if let Some(last) = existing.last() {
        if last.version >= version {
            let next: u64 = last.version.parse::<u64>().unwrap_or(0) + 1;
            version = format!("{next:014}");
        }
    }
    let up = dir.join(format!("{version}_{name}.sql"));
    fs::write(&up, body).map_err(|e| Error::io(format!("writing {}", up.display()), e))?;
    let down = if with_down {
        let p = dir.join(format!("{version}_{name}.down.sql"));
        fs::write(&p, format!("-- Undo {version}_{name}.sql\n"))
            .map_err(|e| Error::io(format!("writing {}", p.display()), e))?;
        Some(p)
    } else {
        None
    };
    Ok((up, down))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crlf_does_not_change_the_checksum() {
        assert_eq!(checksum("a\r\nb\r\n"), checksum("a\nb\n"));
        assert_ne!(checksum("a\nb\n"), checksum("a\nc\n"));
    }

    #[test]
    fn discovers_and_pairs_files() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        fs::write(d.join("20260101000000_one.sql"), "select 1;").unwrap();
        fs::write(d.join("20260101000000_one.down.sql"), "select 0;").unwrap();
        fs::write(d.join("20260102000000_two.sql"), "select 2;").unwrap();
        fs::write(d.join("README.md"), "notes").unwrap();
        let files = discover(d).unwrap();
        assert_eq!(files.len(), 2);
        assert!(files[0].down.is_some());
        assert_eq!(files[1].name, "two");
    }

    #[test]
    fn rejects_badly_named_and_duplicate_files() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("001_init.sql"), "").unwrap();
        assert!(discover(dir.path())
            .unwrap_err()
            .to_string()
            .contains("001_init.sql"));
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("20260101000000_a.sql"), "").unwrap();
        fs::write(dir.path().join("20260101000000_b.sql"), "").unwrap();
        assert!(discover(dir.path())
            .unwrap_err()
            .to_string()
            .contains("same version"));
    }

    #[test]
    fn non_utf8_names_the_offset() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("20260101000000_a.sql"), b"select 1;\xff").unwrap();
        let err = discover(dir.path()).unwrap_err().to_string();
        assert!(err.contains("offset 9"), "{err}");
    }

    #[test]
    fn new_versions_sort_after_existing_ones() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("99990101000000_future.sql"), "").unwrap();
        let (up, down) = create(dir.path(), "Add user preferences!", true, "").unwrap();
        let name = up.file_name().unwrap().to_str().unwrap().to_string();
        assert_eq!(name, "99990101000001_add_user_preferences.sql");
        assert!(down.unwrap().exists());
    }
}
