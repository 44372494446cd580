//! The record of migrations applied to a protected database despite lint errors, with an
//! audited `--skip-lint`: `dbsage.lint-skipped.toml` beside dbsage.toml, committed with the
//! migrations so every checkout (CI included) treats those files' findings as context. An
//! entry excuses one exact file content (its checksum): an edited file is judged again.
//!
//! Three sources, merged: the committed file; `.dbsage/lint-skipped.json`, where dbsage before
//! this file kept the record (read only); and the `lint_skipped` events of a database's audit
//! log, read when a command connects ([`learn_from_database`]), so a file skipped from another
//! machine is known and written into the committed file.

use postgres::Client;
use serde::{Deserialize, Serialize};

use crate::config::{HistoryTable, Project};
use crate::error::{Error, Result};
use crate::migrations::MigrationFile;

/// The committed record, beside dbsage.toml.
pub const FILE_NAME: &str = "dbsage.lint-skipped.toml";
/// Where the record lived before (checkout-local, under `.dbsage/`): still read.
const LEGACY_FILE: &str = "lint-skipped.json";
const FORMAT: u32 = 1;

const HEADER: &str = "\
# Migrations applied to a protected database despite lint errors, with an audited
# `dbsage migrate --skip-lint`. Commit this file: in every checkout `migrate --local` and
# `dbsage lint` show these files' findings as context instead of failing, while the file's
# checksum matches. Written by dbsage, one entry per file in version order; review it as code.
";

/// A file applied to a protected database despite lint errors, with `--skip-lint`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct LintSkipped {
    pub version: String,
    /// The migration file, relative to the project root.
    #[serde(default)]
    pub file: String,
    pub checksum: String,
    pub environment: String,
    /// Who applied it (`os-user@host`).
    #[serde(default)]
    pub by: String,
    /// When (UTC, RFC 3339).
    pub at: String,
    /// The audit log's account of the override, with the person's `--reason` first.
    #[serde(default)]
    pub reason: String,
}

impl LintSkipped {
    fn excuses(&self, version: &str, checksum: &str) -> bool {
        self.version == version && self.checksum == checksum
    }
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct Record {
    #[serde(default)]
    format: u32,
    #[serde(default)]
    skipped: Vec<LintSkipped>,
}

#[derive(Debug, Default, Deserialize)]
struct LegacyRecord {
    applied: Vec<LintSkipped>,
}

fn committed(project: &Project) -> Result<Vec<LintSkipped>> {
    let path = project.root.join(FILE_NAME);
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Error::io(format!("reading {}", path.display()), e)),
    };
    toml::from_str::<Record>(&text)
        .map(|r| r.skipped)
        .map_err(|e| Error::Config {
            message: format!("{}: {}", path.display(), e.to_string().trim_end()),
            hint: format!(
                "{FILE_NAME} is written by `dbsage migrate --skip-lint`: after a merge keep both sides' [[skipped]] entries and remove the conflict markers, or restore it from version control"
            ),
        })
}

fn legacy(project: &Project) -> Vec<LintSkipped> {
    std::fs::read_to_string(project.state_dir().join(LEGACY_FILE))
        .ok()
        .and_then(|t| serde_json::from_str::<LegacyRecord>(&t).ok())
        .map(|r| r.applied)
        .unwrap_or_default()
}

/// Every file applied with an audited `--skip-lint` that this checkout knows of. A committed
/// record that does not parse (a merge left conflict markers) is an error at its line, not a
/// silent "nothing is excused".
pub fn lint_skipped(project: &Project) -> Result<Vec<LintSkipped>> {
    let mut all = committed(project)?;
    for old in legacy(project) {
        if !all.iter().any(|s| s.excuses(&old.version, &old.checksum)) {
            all.push(old);
        }
    }
    Ok(all)
}

/// Adds `entries` to the committed record (an entry already there for the same version and
/// checksum is replaced), written atomically. Returns how many were new.
fn add(project: &Project, entries: Vec<LintSkipped>) -> Result<usize> {
    if entries.is_empty() {
        return Ok(0);
    }
    let mut skipped = committed(project)?;
    let mut added = 0;
    for entry in entries {
        let before = skipped.len();
        skipped.retain(|s| !s.excuses(&entry.version, &entry.checksum));
        added += usize::from(skipped.len() == before);
        skipped.push(entry);
    }
    // Version order: two branches adding entries touch different places of the file.
    skipped.sort_by(|a, b| {
        crate::migrations::compare_versions(&a.version, &b.version).then(a.at.cmp(&b.at))
    });
    let record = Record {
        format: FORMAT,
        skipped,
    };
    let body = toml::to_string(&record).map_err(|e| Error::Config {
        message: format!("writing {FILE_NAME}: {e}"),
        hint: "report this as a dbsage bug".into(),
    })?;
    crate::project_file::write(&project.root.join(FILE_NAME), &format!("{HEADER}\n{body}"))?;
    Ok(added)
}

/// Records that `files` were applied to `environment` with an audited `--skip-lint`; `reason`
/// is the audit event's text.
pub fn record_lint_skipped(
    project: &Project,
    files: &[&MigrationFile],
    environment: &str,
    reason: &str,
) -> Result<()> {
    // Seconds are enough for a reader, and match what the audit log's events give.
    let now = time::OffsetDateTime::now_utc();
    let at = now
        .replace_nanosecond(0)
        .unwrap_or(now)
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default();
    let entries = files
        .iter()
        .map(|f| LintSkipped {
            version: f.version.clone(),
            file: relative(project, f),
            checksum: f.checksum.clone(),
            environment: environment.to_string(),
            by: crate::actor::actor(),
            at: at.clone(),
            reason: reason.to_string(),
        })
        .collect();
    add(project, entries).map(|_| ())
}

fn relative(project: &Project, file: &MigrationFile) -> String {
    file.path
        .strip_prefix(&project.root)
        .unwrap_or(&file.path)
        .display()
        .to_string()
}

/// The `details` of the `lint_skipped` audit event: which files, with which checksums, so any
/// checkout can read the override back from the database.
pub fn event_details(project: &Project, files: &[&MigrationFile]) -> serde_json::Value {
    serde_json::json!({
        "files": files
            .iter()
            .map(|f| serde_json::json!({
                "version": f.version,
                "file": relative(project, f),
                "checksum": f.checksum,
            }))
            .collect::<Vec<_>>(),
    })
}

/// The files the database's audit log says were applied with `--skip-lint` (and its history
/// says were applied with that very checksum).
pub fn in_database(
    client: &mut Client,
    table: &HistoryTable,
    environment: &str,
) -> Result<Vec<LintSkipped>> {
    let exists: bool = client
        .query_one(
            "select to_regclass($1) is not null and to_regclass($2) is not null",
            &[&table.qualified(), &table.events()],
        )
        .map_err(|e| Error::db("checking the audit log", e))?
        .get(0);
    if !exists {
        return Ok(Vec::new());
    }
    let rows = client
        .query(
            &format!(
                "select f ->> 'version', coalesce(f ->> 'file', ''), f ->> 'checksum', e.actor,
                        to_char(e.at at time zone 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'),
                        coalesce(e.reason, '')
                   from {events} e
                  cross join lateral jsonb_array_elements(
                        case when jsonb_typeof(e.details -> 'files') = 'array'
                             then e.details -> 'files' else '[]'::jsonb end) f
                   join {history} h on h.version = f ->> 'version' and h.checksum = f ->> 'checksum'
                  where e.event = 'lint_skipped'
                  order by e.id",
                events = table.events(),
                history = table.qualified(),
            ),
            &[],
        )
        .map_err(|e| Error::db("reading the audit log's lint_skipped events", e))?;
    Ok(rows
        .iter()
        .map(|r| LintSkipped {
            version: r.get(0),
            file: r.get(1),
            checksum: r.get(2),
            environment: environment.to_string(),
            by: r.get(3),
            at: r.get(4),
            reason: r.get(5),
        })
        .collect())
}

/// Writes into the committed record the files the database says were applied with
/// `--skip-lint` that this checkout did not know of. Returns the versions added.
pub fn learn_from_database(
    client: &mut Client,
    project: &Project,
    environment: &str,
) -> Result<Vec<String>> {
    let known = lint_skipped(project)?;
    let new: Vec<LintSkipped> = in_database(client, &project.history_table(), environment)?
        .into_iter()
        .filter(|s| !known.iter().any(|k| k.excuses(&s.version, &s.checksum)))
        .fold(Vec::new(), |mut unique, s| {
            if !unique
                .iter()
                .any(|u: &LintSkipped| u.excuses(&s.version, &s.checksum))
            {
                unique.push(s);
            }
            unique
        });
    let versions = new.iter().map(|s| s.version.clone()).collect();
    add(project, new)?;
    Ok(versions)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(project: &Project, version: &str, text: &str) -> MigrationFile {
        MigrationFile {
            version: version.into(),
            name: "x".into(),
            path: project.root.join(format!("migrations/{version}_x.sql")),
            text: text.into(),
            checksum: crate::migrations::checksum(text),
            down: None,
            tool_no_transaction: false,
        }
    }

    #[test]
    fn entries_are_kept_in_version_order_one_block_each() {
        let dir = tempfile::tempdir().unwrap();
        let project = Project {
            root: dir.path().into(),
            config: Default::default(),
        };
        let newer = file(&project, "20260105000000", "drop table a;");
        let older = file(&project, "20260102000000", "drop table b;");
        record_lint_skipped(&project, &[&newer], "prod", "hotfix").unwrap();
        record_lint_skipped(&project, &[&older], "staging", "cleanup").unwrap();
        let text = std::fs::read_to_string(dir.path().join(FILE_NAME)).unwrap();
        assert!(text.starts_with("# Migrations applied"), "{text}");
        assert_eq!(text.matches("[[skipped]]").count(), 2, "{text}");
        let first = text.find("20260102000000").unwrap();
        let second = text.find("20260105000000").unwrap();
        assert!(first < second, "{text}");
        assert!(
            text.contains("file = \"migrations/20260102000000_x.sql\""),
            "{text}"
        );
        // Recording the same content again replaces its entry.
        record_lint_skipped(&project, &[&older], "staging", "cleanup again").unwrap();
        let again = lint_skipped(&project).unwrap();
        assert_eq!(again.len(), 2);
        assert_eq!(again[0].reason, "cleanup again");
    }
}
