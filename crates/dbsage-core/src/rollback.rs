//! `dbsage rollback` and `dbsage repair`: undoing applied migrations with their down files (or
//! printing/writing reverse guidance), and the audited ways out of an inconsistent history.

use std::path::PathBuf;
use std::time::Instant;

use postgres::Client;
use serde::Serialize;

use crate::config::{HistoryTable, Project};
use crate::error::{Error, Result};
use crate::history;
use crate::migrate::{parse_migration, run_statements, set_timeouts, Timeouts};
use crate::migrations::{self, MigrationFile};
use crate::reverse::{self, Guidance};

#[derive(Debug, Clone, Serialize)]
pub struct RolledBack {
    pub version: String,
    pub name: String,
    pub duration_ms: u64,
}

/// Guidance for the first migration that has no down file.
#[derive(Debug, Clone, Serialize)]
pub struct GuidanceReport {
    pub version: String,
    pub name: String,
    pub guidance: Guidance,
    /// The forward migration written with `--write`.
    pub written: Option<PathBuf>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct RollbackOutcome {
    pub rolled_back: Vec<RolledBack>,
    pub guidance: Option<GuidanceReport>,
    /// What could not be checked (a down file with no checksum recorded at apply time).
    pub notes: Vec<String>,
}

/// Runs a migration's down file and removes its history row, in one transaction.
pub fn undo_with_down_file(
    client: &mut Client,
    table: &HistoryTable,
    timeouts: &Timeouts,
    file: &MigrationFile,
    tool: Option<dbsage_supabase::Layout>,
) -> Result<u64> {
    let down = file.down.as_ref().expect("caller checks for a down file");
    let parsed = parse_migration(&down.path, &down.text)?;
    let started = Instant::now();
    // A no-transaction down file (DROP INDEX CONCURRENTLY …) runs statement by statement; its
    // history row goes in the transaction below once every statement succeeded.
    let no_transaction = dbsage_sql::is_no_transaction(&down.text);
    if no_transaction {
        set_timeouts(client, timeouts, false)?;
        let result = crate::partial::run_no_transaction(
            client,
            table,
            &crate::partial::NoTransactionFile {
                version: &file.version,
                name: &file.name,
                path: &down.path,
                text: &down.text,
                parsed: &parsed,
                direction: crate::partial::Direction::Down,
            },
        );
        let _ = client.batch_execute("RESET lock_timeout; RESET statement_timeout");
        result?;
    }
    let mut tx = client
        .transaction()
        .map_err(|e| Error::db("starting a transaction", e))?;
    set_timeouts(&mut tx, timeouts, true)?;
    if !no_transaction {
        run_statements(&mut tx, &down.path, &down.text, &parsed).map_err(Error::Migration)?;
    }
    tx.execute(
        &format!("delete from {} where version = $1", table.qualified()),
        &[&file.version],
    )
    .map_err(|e| Error::db("removing the history row", e))?;
    // Supabase's own history, when present, follows.
    tx.batch_execute(&format!(
        "DO $$ BEGIN IF to_regclass('supabase_migrations.schema_migrations') IS NOT NULL THEN \
         DELETE FROM supabase_migrations.schema_migrations WHERE version = '{}'; END IF; END $$",
        file.version.replace('\'', "''")
    ))
    .map_err(|e| Error::db("updating supabase_migrations.schema_migrations", e))?;
    if let Some(tool) = tool {
        forget_tool_history(&mut tx, table, file, tool)?;
    }
    history::record_event(
        &mut tx,
        table,
        Some(&file.version),
        Some(&file.name),
        "rolled_back",
        None,
        Some(serde_json::json!({ "down_checksum": down.checksum })),
    )?;
    tx.commit()
        .map_err(|e| Error::db("committing the rollback", e))?;
    Ok(started.elapsed().as_millis() as u64)
}

/// The adopted tool whose history `migrate` keeps in step, if any.
pub(crate) fn kept_in_step_tool(project: &Project) -> Option<dbsage_supabase::Layout> {
    project
        .layout()
        .filter(|l| dbsage_supabase::keeps_in_step(*l))
}

/// Removes `file` from the adopted tool's own history (kept in step by `migrate`), after
/// dbsage's row is gone: golang-migrate's row moves to the newest version still applied.
fn forget_tool_history(
    tx: &mut postgres::Transaction,
    table: &HistoryTable,
    file: &MigrationFile,
    tool: dbsage_supabase::Layout,
) -> Result<()> {
    let remaining: Vec<String> = tx
        .query(&format!("select version from {}", table.qualified()), &[])
        .map_err(|e| Error::db("reading the history", e))?
        .iter()
        .map(|r| r.get(0))
        .collect();
    // Numeric versions compare as numbers (golang-migrate's `9` is older than `10`).
    let previous = remaining
        .iter()
        .max_by_key(|v| (v.parse::<u128>().ok(), v.as_str()));
    let applied = dbsage_supabase::AppliedFile {
        version: &file.version,
        name: &file.name,
        text: &file.text,
    };
    dbsage_supabase::forget_tool_history(tx, tool, applied, previous.map(String::as_str)).map_err(
        |e| {
            Error::db(
                format!("removing {} from {tool}'s history", file.label()),
                e,
            )
        },
    )
}

/// Rolls back the newest `steps` applied migrations. Stops at the first one without a down
/// file and returns guidance for it (written as a new forward migration with `write`).
pub fn rollback(
    client: &mut Client,
    project: &Project,
    files: &[MigrationFile],
    steps: usize,
    write: bool,
) -> Result<RollbackOutcome> {
    let table = project.history_table();
    let timeouts = Timeouts::from_project(project);
    let tool = kept_in_step_tool(project);
    history::acquire_lock(client, &table, timeouts.lock_wait, |_| {})?;
    let result = (|| {
        history::upgrade(client, &table)?;
        let applied = history::read(client, &table)?;
        let mut outcome = RollbackOutcome::default();
        if applied.is_empty() {
            return Ok(outcome);
        }
        outcome.notes = refuse_changed_files(applied.iter().rev().take(steps), files)?;
        for row in applied.iter().rev().take(steps) {
            let Some(file) = files.iter().find(|f| f.version == row.version) else {
                return Err(Error::Inconsistent {
                    message: format!(
                        "{}_{} is applied but its file is missing: nothing to roll back with",
                        row.version, row.name
                    ),
                    hint: "restore the file (and its .down.sql) from version control".into(),
                });
            };
            if file.down.is_some() {
                let ms = undo_with_down_file(client, &table, &timeouts, file, tool)?;
                outcome.rolled_back.push(RolledBack {
                    version: file.version.clone(),
                    name: file.name.clone(),
                    duration_ms: ms,
                });
                continue;
            }
            let parsed = parse_migration(&file.path, &file.text)?;
            let guidance = reverse::reverse(&file.text, &parsed);
            let written = if write {
                let (path, _) = migrations::create(
                    &project.migrations_dir(),
                    &format!("revert_{}", file.name),
                    false,
                    &guidance.to_migration(&file.label()),
                )?;
                Some(path)
            } else {
                None
            };
            outcome.guidance = Some(GuidanceReport {
                version: file.version.clone(),
                name: file.name.clone(),
                guidance,
                written,
            });
            break;
        }
        Ok(outcome)
    })();
    history::release_lock(client, &table);
    result
}

/// Refuses to undo a migration whose file or down file changed since it was applied: the down
/// file would not undo what actually ran. Checks every migration of the run before anything is
/// undone; returns notes for down files that could not be compared.
fn refuse_changed_files<'a>(
    rows: impl Iterator<Item = &'a history::AppliedRow>,
    files: &[MigrationFile],
) -> Result<Vec<String>> {
    let mut notes = Vec::new();
    for row in rows {
        let Some(file) = files.iter().find(|f| f.version == row.version) else {
            break; // reported by the caller: nothing to roll back with
        };
        let label = file.label();
        let fix = format!(
            "restore it as it was when applied (see `git log -p`), or, after reviewing that the down file undoes what was applied, record the files as they are: dbsage repair --accept-checksum {} --reason \"…\"",
            file.version
        );
        if file.checksum != row.checksum {
            return Err(Error::Inconsistent {
                message: format!(
                    "refusing to roll back {label}: the migration file was edited after it was applied (checksum mismatch), so its down file may not undo what actually ran; nothing was rolled back"
                ),
                hint: fix,
            });
        }
        let Some(down) = &file.down else {
            break; // guidance from here on: no down file runs
        };
        match row.down_checksum.as_deref() {
            None => notes.push(format!(
                "{label}: no down-file checksum was recorded when it was applied (older history), so its down file could not be checked for changes"
            )),
            Some("") => notes.push(format!(
                "{label}: the down file was added after the migration was applied, so it could not be checked for changes; review it"
            )),
            Some(recorded) if recorded != down.checksum => {
                return Err(Error::Inconsistent {
                    message: format!(
                        "refusing to roll back {label}: its down file {} changed since the migration was applied (checksum mismatch); nothing was rolled back",
                        down.path.display()
                    ),
                    hint: fix,
                })
            }
            Some(_) => {}
        }
    }
    Ok(notes)
}

/// What `repair` did.
#[derive(Debug, Clone, Serialize)]
pub struct Repaired {
    pub version: String,
    pub action: String,
    pub old_checksum: String,
    pub new_checksum: Option<String>,
}

/// Records the edited file's checksum (and its down file's) as the applied one (the edit was
/// harmless), audited. Refuses when nothing changed.
pub fn accept_checksum(
    client: &mut Client,
    project: &Project,
    files: &[MigrationFile],
    version: &str,
    reason: &str,
) -> Result<Repaired> {
    require_reason(reason)?;
    let table = project.history_table();
    let file = files
        .iter()
        .find(|f| f.version == version)
        .ok_or_else(|| Error::Config {
            message: format!("no migration file has version {version}"),
            hint: "use a version from `dbsage status`".into(),
        })?;
    with_migration_lock(client, project, |client| {
        let row = applied_row(client, &table, version)?;
        let down_unchanged = row
            .down_checksum
            .as_deref()
            .is_none_or(|recorded| recorded == file.down_checksum());
        if row.checksum == file.checksum && down_unchanged {
            return Err(Error::Refused {
                message: format!(
                    "refusing to accept {}: nothing changed — the file's checksum already equals the applied one, and its down file is as recorded",
                    file.label()
                ),
                hint: "--accept-checksum records an edit made after the migration was applied; `dbsage status` shows which migrations are modified".into(),
            });
        }
        let mut tx = client
            .transaction()
            .map_err(|e| Error::db("starting a transaction", e))?;
        tx.execute(
            &format!(
                "update {} set checksum = $2, down_checksum = $3 where version = $1",
                table.qualified()
            ),
            &[&version, &file.checksum, &file.down_checksum()],
        )
        .map_err(|e| Error::db("updating the checksum", e))?;
        history::record_event(
            &mut tx,
            &table,
            Some(version),
            Some(&file.name),
            "checksum_accepted",
            Some(reason),
            Some(serde_json::json!({
                "old": row.checksum,
                "new": file.checksum,
                "old_down": row.down_checksum,
                "new_down": file.down_checksum(),
            })),
        )?;
        tx.commit()
            .map_err(|e| Error::db("committing the repair", e))?;
        Ok(Repaired {
            version: version.into(),
            action: "checksum_accepted".into(),
            old_checksum: row.checksum,
            new_checksum: Some(file.checksum.clone()),
        })
    })
}

/// Removes the history row of a migration whose file was deliberately deleted, audited.
/// Refuses while the file exists: the next `migrate` would apply it again.
pub fn forget(
    client: &mut Client,
    project: &Project,
    files: &[MigrationFile],
    version: &str,
    reason: &str,
) -> Result<Repaired> {
    require_reason(reason)?;
    if let Some(file) = files.iter().find(|f| f.version == version) {
        return Err(Error::Refused {
            message: format!(
                "refusing to forget {}: its file {} still exists, so the next migrate would apply it again",
                file.label(),
                file.path.display()
            ),
            hint: format!(
                "--forget is for a migration whose file was deleted on purpose: delete the file (and its .down.sql) first, then run this again; if the file was only edited, review it and use --accept-checksum {version}"
            ),
        });
    }
    let table = project.history_table();
    with_migration_lock(client, project, |client| {
        let row = applied_row(client, &table, version)?;
        let mut tx = client
            .transaction()
            .map_err(|e| Error::db("starting a transaction", e))?;
        tx.execute(
            &format!("delete from {} where version = $1", table.qualified()),
            &[&version],
        )
        .map_err(|e| Error::db("removing the history row", e))?;
        history::record_event(
            &mut tx,
            &table,
            Some(version),
            Some(&row.name),
            "forgotten",
            Some(reason),
            Some(serde_json::json!({ "checksum": row.checksum })),
        )?;
        tx.commit()
            .map_err(|e| Error::db("committing the repair", e))?;
        Ok(Repaired {
            version: version.into(),
            action: "forgotten".into(),
            old_checksum: row.checksum,
            new_checksum: None,
        })
    })
}

/// Runs a repair under the migration lock (never beside a migrate run), on history tables
/// brought up to date.
pub(crate) fn with_migration_lock<T>(
    client: &mut Client,
    project: &Project,
    work: impl FnOnce(&mut Client) -> Result<T>,
) -> Result<T> {
    let table = project.history_table();
    let timeouts = Timeouts::from_project(project);
    history::acquire_lock(client, &table, timeouts.lock_wait, |_| {})?;
    let result = history::upgrade(client, &table).and_then(|()| work(client));
    history::release_lock(client, &table);
    result
}

pub(crate) fn require_reason(reason: &str) -> Result<()> {
    if reason.trim().is_empty() {
        return Err(Error::Config {
            message: "repair needs a --reason".into(),
            hint: "say why, e.g. --reason \"comment-only edit\"; it goes into the audit log".into(),
        });
    }
    Ok(())
}

fn applied_row(
    client: &mut Client,
    table: &HistoryTable,
    version: &str,
) -> Result<history::AppliedRow> {
    history::read(client, table)?
        .into_iter()
        .find(|r| r.version == version)
        .ok_or_else(|| Error::Config {
            message: format!("version {version} is not recorded as applied"),
            hint: "use a version from `dbsage status`".into(),
        })
}
