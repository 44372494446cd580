//! The tamper-evident audit log: every row of `migration_events` carries `prev_hash` (the hash
//! of the row before it) and `hash = sha256(canonical text of prev_hash and the row)`, so editing
//! or deleting a row breaks the chain at that row, and `dbsage history --verify` finds it.
//!
//! The chain is kept by the database, not by dbsage's insert statements, so every insert path
//! is chained (dbsage's own, an older dbsage binary, a hand-written INSERT):
//! - a statement-level BEFORE INSERT trigger takes a transaction-scoped advisory lock, so
//!   concurrent appenders queue *before* their ids are drawn: id order is chain order, and two
//!   appenders can never both chain to the same row (a fork);
//! - a row-level BEFORE INSERT trigger reads the newest row's hash as `prev_hash` and computes
//!   `hash` with PostgreSQL's `sha256(bytea)`. It runs only in READ COMMITTED transactions, whose
//!   statements see what the previous lock holder committed.
//!
//! Verification does not trust the trigger function stored in the database: dbsage builds the
//! canonical text with its own query ([`canonical_sql`]) and hashes it itself.
//!
//! Tables written by an older dbsage are upgraded in place (under the migration lock): the
//! columns are added and the rows already there are chained once, in id order, recorded as an
//! `audit_chain_started` event — they are as trustworthy as they were at the upgrade.
//!
//! Limits: a chain in the database itself cannot show that its newest rows were deleted, nor
//! resist a superuser who rewrites every hash; copy the head hash (`history --verify` prints it)
//! somewhere else to anchor it.

use postgres::{Client, GenericClient, Transaction};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::config::HistoryTable;
use crate::error::{Error, Result};

/// Text of the row `row` (`NEW` in the trigger, a table alias elsewhere) that the hash covers:
/// a JSON array, so every field is delimited and NULL differs from ''. `jsonb` prints its
/// content in one normal form, and the time is spelled in UTC with microseconds whatever the
/// session's `TimeZone` or `DateStyle`.
pub fn canonical_sql(row: &str, prev_hash: &str) -> String {
    format!(
        "pg_catalog.jsonb_build_array({prev_hash}, {row}.id, \
         pg_catalog.to_char({row}.at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'), \
         {row}.version, {row}.name, {row}.event, {row}.actor, {row}.db_user, {row}.reason, \
         {row}.details)::text"
    )
}

/// The transaction-scoped advisory lock that serialises appenders (distinct from the session
/// migration lock, so recording an event never waits for a migration run).
fn append_lock_key(table: &HistoryTable) -> i64 {
    let digest = Sha256::digest(format!("dbsage-events:{}", table.schema));
    i64::from_be_bytes(digest[..8].try_into().unwrap())
}

fn sql_literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// Adds the chain columns and triggers to the events table. With `chain_existing`, the rows
/// already there are chained once (the columns were just added). Call with the migration lock
/// held, inside the upgrade's transaction.
pub(crate) fn install(
    tx: &mut Transaction,
    table: &HistoryTable,
    chain_existing: bool,
) -> Result<()> {
    let schema = format!("\"{}\"", table.schema);
    let events = table.events();
    let key = append_lock_key(table);
    let sql = format!(
        r#"
        ALTER TABLE {events} ADD COLUMN IF NOT EXISTS prev_hash text,
                             ADD COLUMN IF NOT EXISTS hash text;
        CREATE OR REPLACE FUNCTION {schema}.event_chain_lock() RETURNS trigger
            LANGUAGE plpgsql SET search_path = pg_catalog AS $$
            BEGIN
                IF current_setting('transaction_isolation') <> 'read committed' THEN
                    RAISE EXCEPTION 'the dbsage audit log is appended in READ COMMITTED transactions only (this one is %)',
                        current_setting('transaction_isolation');
                END IF;
                PERFORM pg_advisory_xact_lock({key});
                RETURN NULL;
            END $$;
        CREATE OR REPLACE FUNCTION {schema}.event_chain_hash() RETURNS trigger
            LANGUAGE plpgsql SET search_path = pg_catalog AS $$
            DECLARE
                last_id   bigint;
                last_hash text;
            BEGIN
                PERFORM pg_advisory_xact_lock({key});
                SELECT e.id, e.hash INTO last_id, last_hash FROM {events} e ORDER BY e.id DESC LIMIT 1;
                IF last_id IS NOT NULL AND NEW.id <= last_id THEN
                    -- drawn before the lock (not expected): keep id order = chain order
                    NEW.id := nextval(pg_get_serial_sequence({events_literal}, 'id'));
                END IF;
                NEW.prev_hash := last_hash;
                NEW.hash := encode(sha256(convert_to({canonical}, 'UTF8')), 'hex');
                RETURN NEW;
            END $$;
        DROP TRIGGER IF EXISTS chain_lock ON {events};
        CREATE TRIGGER chain_lock BEFORE INSERT ON {events}
            FOR EACH STATEMENT EXECUTE FUNCTION {schema}.event_chain_lock();
        DROP TRIGGER IF EXISTS chain_hash ON {events};
        CREATE TRIGGER chain_hash BEFORE INSERT ON {events}
            FOR EACH ROW EXECUTE FUNCTION {schema}.event_chain_hash();
        "#,
        events_literal = sql_literal(&events),
        canonical = canonical_sql("NEW", "NEW.prev_hash"),
    );
    tx.batch_execute(&sql)
        .map_err(|e| Error::db("adding the hash chain to the audit log", e))?;
    if !chain_existing {
        return Ok(());
    }
    let chained: i64 = tx
        .query_one(&format!("select count(*) from {events}"), &[])
        .map_err(|e| Error::db("counting audit events", e))?
        .get(0);
    if chained == 0 {
        return Ok(());
    }
    // The append-only trigger is lifted for this one transaction to write the chain columns of
    // the rows an older dbsage wrote; nothing else changes.
    tx.batch_execute(&format!(
        r#"
        ALTER TABLE {events} DISABLE TRIGGER append_only;
        DO $$
        DECLARE
            r    record;
            prev text;
        BEGIN
            FOR r IN SELECT id FROM {events} ORDER BY id LOOP
                UPDATE {events} e SET prev_hash = prev,
                    hash = encode(sha256(convert_to({canonical}, 'UTF8')), 'hex')
                WHERE e.id = r.id
                RETURNING e.hash INTO prev;
            END LOOP;
        END $$;
        ALTER TABLE {events} ENABLE TRIGGER append_only;
        "#,
        canonical = canonical_sql("e", "prev"),
    ))
    .map_err(|e| Error::db("chaining the existing audit events", e))?;
    crate::history::record_event(
        tx,
        table,
        None,
        None,
        "audit_chain_started",
        Some(&format!(
            "audit log upgraded: the {} were chained as they stood at this upgrade",
            crate::wording::plural(chained, "earlier event")
        )),
        Some(serde_json::json!({ "chained_rows": chained })),
    )
}

/// One row of the audit log.
#[derive(Debug, Clone, Serialize)]
pub struct Event {
    pub id: i64,
    pub at: String,
    pub event: String,
    pub version: Option<String>,
    pub name: Option<String>,
    pub actor: String,
    pub db_user: String,
    pub reason: Option<String>,
    pub details: Option<serde_json::Value>,
}

/// Whether the audit log table exists (a database dbsage never wrote to has none).
pub(crate) fn events_exist(client: &mut impl GenericClient, table: &HistoryTable) -> Result<bool> {
    Ok(client
        .query_one("select to_regclass($1) is not null", &[&table.events()])
        .map_err(|e| Error::db("looking for the audit log", e))?
        .get(0))
}

/// The newest `limit` events (all without a limit), newest last; `None` when the database has
/// no audit log yet.
pub fn read(
    client: &mut impl GenericClient,
    table: &HistoryTable,
    limit: Option<i64>,
) -> Result<Option<Vec<Event>>> {
    if !events_exist(client, table)? {
        return Ok(None);
    }
    let rows = client
        .query(
            &format!(
                "select id, to_char(at at time zone 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), event,
                        version, name, actor, db_user, reason, details::text
                 from (select * from {} order by id desc limit $1) e order by id",
                table.events()
            ),
            &[&limit],
        )
        .map_err(|e| Error::db("reading the audit log", e))?;
    Ok(Some(
        rows.iter()
            .map(|r| Event {
                id: r.get(0),
                at: r.get(1),
                event: r.get(2),
                version: r.get(3),
                name: r.get(4),
                actor: r.get(5),
                db_user: r.get(6),
                reason: r.get(7),
                details: r
                    .get::<_, Option<String>>(8)
                    .and_then(|d| serde_json::from_str(&d).ok()),
            })
            .collect(),
    ))
}

/// The result of recomputing the chain.
#[derive(Debug, Clone, Serialize)]
pub struct Verification {
    pub intact: bool,
    /// Rows checked.
    pub rows: u64,
    /// The newest row's id and hash, to copy elsewhere as an anchor.
    pub head: Option<ChainHead>,
    pub first_broken: Option<BrokenLink>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ChainHead {
    pub id: i64,
    pub hash: String,
}

/// The first row where the chain does not hold.
#[derive(Debug, Clone, Serialize)]
pub struct BrokenLink {
    pub id: i64,
    pub event: String,
    pub at: String,
    /// `content-changed`, `link-broken` or `unchained`.
    pub problem: String,
    pub message: String,
    /// The hash the row should carry, and the one it carries.
    pub expected: Option<String>,
    pub found: Option<String>,
}

/// Recomputes every row's hash and link, oldest first, and reports the first break.
pub fn verify(client: &mut Client, table: &HistoryTable) -> Result<Verification> {
    let mut verification = Verification {
        intact: true,
        rows: 0,
        head: None,
        first_broken: None,
    };
    if !events_exist(client, table)? {
        return Ok(verification);
    }
    let has_chain: bool = client
        .query_one(
            "select exists (select from pg_attribute where attrelid = to_regclass($1) and attname = 'hash' and not attisdropped)",
            &[&table.events()],
        )
        .map_err(|e| Error::db("reading the audit log", e))?
        .get(0);
    if !has_chain {
        return Err(Error::Failed {
            message: "this audit log has no hash chain yet (written by an older dbsage)".into(),
            hint: "the next `dbsage migrate`, `rollback` or `repair` on this database adds it and chains the existing rows".into(),
        });
    }
    let rows = client
        .query(
            &format!(
                "select e.id, e.event, to_char(e.at at time zone 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'),
                        e.prev_hash, e.hash, {}
                 from {} e order by e.id",
                canonical_sql("e", "e.prev_hash"),
                table.events()
            ),
            &[],
        )
        .map_err(|e| Error::db("reading the audit log", e))?;
    let mut previous: Option<(i64, Option<String>)> = None;
    for row in &rows {
        let id: i64 = row.get(0);
        let event: String = row.get(1);
        let at: String = row.get(2);
        let prev_hash: Option<String> = row.get(3);
        let hash: Option<String> = row.get(4);
        let canonical: String = row.get(5);
        verification.rows += 1;
        let computed = hex::encode(Sha256::digest(canonical.as_bytes()));
        let broken = |problem: &str, message: String, expected, found| BrokenLink {
            id,
            event: event.clone(),
            at: at.clone(),
            problem: problem.into(),
            message,
            expected,
            found,
        };
        let expected_prev = previous.as_ref().and_then(|(_, h)| h.clone());
        let problem = if hash.is_none() {
            Some(broken(
                "unchained",
                format!(
                    "event #{id} has no hash: it was written while the chain trigger was disabled"
                ),
                Some(computed.clone()),
                None,
            ))
        } else if hash.as_deref() != Some(computed.as_str()) {
            Some(broken(
                "content-changed",
                format!(
                    "event #{id} ({event}, {at}) was changed after it was written: its content no longer matches its hash"
                ),
                Some(computed.clone()),
                hash.clone(),
            ))
        } else if prev_hash != expected_prev {
            let before = match &previous {
                Some((prev_id, _)) => format!("the hash of event #{prev_id}, the row before it"),
                None => "nothing (it is the oldest row, so older rows were deleted)".into(),
            };
            Some(broken(
                "link-broken",
                format!(
                    "event #{id} ({event}, {at}) chains to a row that is not there: its prev_hash should be {before}; a row between them was deleted, or the row before it was rewritten"
                ),
                expected_prev.clone(),
                prev_hash.clone(),
            ))
        } else {
            None
        };
        if let Some(link) = problem {
            verification.intact = false;
            verification.first_broken = Some(link);
            break;
        }
        previous = Some((id, hash));
    }
    if let Some(last) = rows.last() {
        verification.head = last.get::<_, Option<String>>(4).map(|hash| ChainHead {
            id: last.get(0),
            hash,
        });
    }
    Ok(verification)
}
