//! The history table (`dbsage.schema_migrations`) and the append-only audit log
//! (`dbsage.migration_events`), plus the advisory lock that serialises migration runs.

use std::time::{Duration, Instant};

use postgres::{Client, GenericClient};
use sha2::{Digest, Sha256};

use crate::config::HistoryTable;
use crate::error::{Error, Result};

/// One row of the history table.
#[derive(Debug, Clone, serde::Serialize)]
pub struct AppliedRow {
    pub version: String,
    pub name: String,
    pub checksum: String,
    pub applied_at: String,
    pub applied_by: String,
    pub duration_ms: i64,
    /// The down file's checksum when the migration was applied: `None` when not recorded (older
    /// history, adopted rows), `Some("")` when it had no down file.
    pub down_checksum: Option<String>,
}

/// Creates the history schema, table and audit log when missing. Call with the migration lock
/// held: concurrent `CREATE … IF NOT EXISTS` can collide in the catalogs.
pub fn ensure(client: &mut Client, table: &HistoryTable) -> Result<()> {
    let exists: bool = client
        .query_one(
            "select to_regclass($1) is not null and to_regclass($2) is not null",
            &[&table.qualified(), &table.events()],
        )
        .map_err(|e| Error::db("checking the history table", e))?
        .get(0);
    if !exists {
        create(client, table)?;
    }
    upgrade(client, table)
}

fn create(client: &mut Client, table: &HistoryTable) -> Result<()> {
    let schema = format!("\"{}\"", table.schema);
    let sql = format!(
        r#"
        CREATE SCHEMA IF NOT EXISTS {schema};
        CREATE TABLE IF NOT EXISTS {history} (
            version     text PRIMARY KEY,
            name        text NOT NULL,
            checksum    text NOT NULL,
            applied_at  timestamptz NOT NULL DEFAULT now(),
            applied_by  text NOT NULL DEFAULT current_user,
            duration_ms bigint NOT NULL
        );
        COMMENT ON TABLE {history} IS 'Migrations applied by dbsage: one row per migration, written in the migration''s own transaction.';
        CREATE TABLE IF NOT EXISTS {events} (
            id       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            at       timestamptz NOT NULL DEFAULT now(),
            version  text,
            name     text,
            event    text NOT NULL,
            actor    text NOT NULL,
            db_user  text NOT NULL DEFAULT current_user,
            reason   text,
            details  jsonb
        );
        COMMENT ON TABLE {events} IS 'dbsage audit log (append-only): applied, rolled back, checksum accepted, gates overridden; who and why.';
        CREATE OR REPLACE FUNCTION {schema}.forbid_event_changes() RETURNS trigger
            LANGUAGE plpgsql SET search_path = pg_catalog AS $$
            BEGIN
                RAISE EXCEPTION 'the dbsage audit log is append-only';
            END $$;
        DROP TRIGGER IF EXISTS append_only ON {events};
        CREATE TRIGGER append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON {events}
            FOR EACH STATEMENT EXECUTE FUNCTION {schema}.forbid_event_changes();
        "#,
        history = table.qualified(),
        events = table.events(),
    );
    client
        .batch_execute(&sql)
        .map_err(|e| Error::db("creating the history table", e))
}

/// Brings history tables written by an older dbsage (or just created) up to date, in place:
/// `down_checksum` on the history table, the hash chain on the audit log. A no-op when they are
/// current or do not exist. Call with the migration lock held.
pub fn upgrade(client: &mut Client, table: &HistoryTable) -> Result<()> {
    let row = client
        .query_one(
            "select to_regclass($1) is not null and to_regclass($2) is not null,
                    exists (select from pg_attribute where attrelid = to_regclass($1) and attname = 'down_checksum' and not attisdropped),
                    exists (select from pg_attribute where attrelid = to_regclass($2) and attname = 'hash' and not attisdropped),
                    (select count(*) = 2 from pg_trigger where tgrelid = to_regclass($2) and tgname in ('chain_lock', 'chain_hash') and tgenabled <> 'D')",
            &[&table.qualified(), &table.events()],
        )
        .map_err(|e| Error::db("checking the history table", e))?;
    let (exists, has_down, has_hash, has_chain): (bool, bool, bool, bool) =
        (row.get(0), row.get(1), row.get(2), row.get(3));
    if !exists || (has_down && has_hash && has_chain) {
        return Ok(());
    }
    let mut tx = client
        .transaction()
        .map_err(|e| Error::db("starting a transaction", e))?;
    if !has_down {
        tx.batch_execute(&format!(
            "ALTER TABLE {} ADD COLUMN IF NOT EXISTS down_checksum text",
            table.qualified()
        ))
        .map_err(|e| Error::db("adding down_checksum to the history table", e))?;
    }
    if !(has_hash && has_chain) {
        crate::event_log::install(&mut tx, table, !has_hash)?;
    }
    tx.commit()
        .map_err(|e| Error::db("upgrading the history tables", e))
}

/// The applied migrations, oldest first; empty when the history table does not exist yet.
pub fn read(client: &mut Client, table: &HistoryTable) -> Result<Vec<AppliedRow>> {
    let exists: bool = client
        .query_one("select to_regclass($1) is not null", &[&table.qualified()])
        .map_err(|e| Error::db("reading the history", e))?
        .get(0);
    if !exists {
        return Ok(Vec::new());
    }
    let rows = client
        .query(
            &format!(
                "select version, name, checksum, to_char(applied_at at time zone 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), applied_by, duration_ms, to_jsonb(h) ->> 'down_checksum' from {} h order by version",
                table.qualified()
            ),
            &[],
        )
        .map_err(|e| Error::db("reading the history", e))?;
    Ok(rows
        .iter()
        .map(|r| AppliedRow {
            version: r.get(0),
            name: r.get(1),
            checksum: r.get(2),
            applied_at: r.get(3),
            applied_by: r.get(4),
            duration_ms: r.get(5),
            // Read through to_jsonb: older history tables have no such column yet.
            down_checksum: r.get(6),
        })
        .collect())
}

/// Appends an audit event (the database chains it: see [`crate::event_log`]).
pub fn record_event(
    client: &mut impl GenericClient,
    table: &HistoryTable,
    version: Option<&str>,
    name: Option<&str>,
    event: &str,
    reason: Option<&str>,
    details: Option<serde_json::Value>,
) -> Result<()> {
    client
        .execute(
            &format!(
                "insert into {} (version, name, event, actor, reason, details) values ($1, $2, $3, $4, $5, $6::text::jsonb)",
                table.events()
            ),
            &[&version, &name, &event, &actor(), &reason, &details.map(|d| d.to_string())],
        )
        .map(|_| ())
        .map_err(|e| Error::db(format!("recording the `{event}` event"), e))
}

/// `os-user@host`, for the audit log, from the operating system (see [`crate::actor`]).
pub fn actor() -> String {
    crate::actor::actor()
}

/// The session advisory lock key for a history table.
fn lock_key(table: &HistoryTable) -> i64 {
    let digest = Sha256::digest(format!("dbsage:{}.{}", table.schema, table.table));
    i64::from_be_bytes(digest[..8].try_into().unwrap())
}

/// Who holds the migration lock.
#[derive(Debug, Clone)]
pub struct LockHolder {
    pub pid: i32,
    pub application_name: String,
    pub user: String,
    pub since: String,
}

/// Takes the session-level migration lock, waiting up to `timeout`.
///
/// It polls `pg_try_advisory_lock` instead of blocking in `pg_advisory_lock`: a session blocked
/// in that call holds a snapshot, and `CREATE INDEX CONCURRENTLY` in the lock holder waits for
/// every older snapshot to go away — a deadlock that has bitten other migration tools.
pub fn acquire_lock(
    client: &mut Client,
    table: &HistoryTable,
    timeout: Duration,
    mut on_wait: impl FnMut(&LockHolder),
) -> Result<()> {
    let key = lock_key(table);
    let deadline = Instant::now() + timeout;
    let mut announced = false;
    let mut pause = Duration::from_millis(20);
    loop {
        let got: bool = client
            .query_one("select pg_try_advisory_lock($1)", &[&key])
            .map_err(|e| Error::db("taking the migration lock", e))?
            .get(0);
        if got {
            return Ok(());
        }
        let holder = lock_holder(client, key)?;
        if !announced {
            if let Some(h) = &holder {
                on_wait(h);
            }
            announced = true;
        }
        if Instant::now() >= deadline {
            let who = holder
                .map(|h| {
                    format!(
                        "pid {} (application_name '{}', user '{}', connected since {})",
                        h.pid, h.application_name, h.user, h.since
                    )
                })
                .unwrap_or_else(|| "another session".into());
            return Err(Error::Failed {
                message: format!(
                    "another migration run holds the migration lock: {who}; gave up after {}s",
                    timeout.as_secs()
                ),
                hint: "wait for it to finish, or stop it (select pg_terminate_backend(PID)); raise migrate.lock_wait_timeout to wait longer".into(),
            });
        }
        std::thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(250));
    }
}

fn lock_holder(client: &mut Client, key: i64) -> Result<Option<LockHolder>> {
    let rows = client
        .query(
            "select a.pid, coalesce(nullif(a.application_name, ''), '?'), coalesce(a.usename::text, '?'),
                    to_char(a.backend_start at time zone 'UTC', 'YYYY-MM-DD HH24:MI:SS \"UTC\"')
             from pg_locks l join pg_stat_activity a on a.pid = l.pid
             where l.locktype = 'advisory' and l.granted and l.objsubid = 1
               and l.classid::bigint = (($1::bigint >> 32) & 4294967295)
               and l.objid::bigint = ($1::bigint & 4294967295)
               and l.database = (select oid from pg_database where datname = current_database())",
            &[&key],
        )
        .map_err(|e| Error::db("looking up the lock holder", e))?;
    Ok(rows.first().map(|r| LockHolder {
        pid: r.get(0),
        application_name: r.get(1),
        user: r.get(2),
        since: r.get(3),
    }))
}

pub fn release_lock(client: &mut Client, table: &HistoryTable) {
    let _ = client.execute("select pg_advisory_unlock($1)", &[&lock_key(table)]);
}
