//! A source made read-only for a cutover, and made writable again.
//!
//! `ALTER DATABASE … SET default_transaction_read_only = on` only reaches new sessions, so the
//! sessions already open are given a bounded time to finish their transactions, then
//! terminated: they reconnect read-only. Walsenders (a subscription streaming from the source)
//! are left alone.

use std::time::{Duration, Instant};

use postgres::Client;
use serde::Serialize;

#[derive(Debug, Clone, Serialize)]
pub struct Drained {
    /// The database was read-only already (then it stays so after a failure, too).
    pub was_read_only: bool,
    pub waited_ms: u64,
    /// Sessions still in a transaction when the bound ran out (their work was rolled back).
    pub cut_transactions: usize,
    /// Sessions terminated so that they reconnect read-only.
    pub terminated: usize,
}

fn db(what: &'static str) -> impl Fn(postgres::Error) -> dbsage_core::Error {
    move |e| dbsage_core::Error::db(what, e)
}

/// Sets `client`'s database read-only, waits up to `drain` for in-flight transactions, then
/// terminates every other client session on it. `client` itself stays writable.
pub fn set(client: &mut Client, drain: Duration) -> dbsage_core::Result<Drained> {
    let database: String = client
        .query_one("select current_database()::text", &[])
        .map_err(db("reading the database name"))?
        .get(0);
    let was_read_only = is_read_only(client)?;
    client
        .batch_execute(&format!(
            "ALTER DATABASE {} SET default_transaction_read_only = on",
            crate::quote_ident(&database)
        ))
        .map_err(|e| {
            let role_hint = "the source environment's role must own the database (or be a superuser) to set it read-only; or pass --keep-source-writable for a dry run";
            crate::failed(
                format!(
                    "cannot set the source database {database} read-only: {}",
                    dbsage_pgerror::headline(&e)
                ),
                role_hint,
            )
        })?;
    let started = Instant::now();
    let in_transaction = "select count(*) from pg_stat_activity
        where datname = current_database() and pid <> pg_backend_pid()
          and backend_type = 'client backend' and xact_start is not null";
    let mut cut: i64 = 0;
    loop {
        let n: i64 = client
            .query_one(in_transaction, &[])
            .map_err(db("watching in-flight transactions"))?
            .get(0);
        if n == 0 {
            break;
        }
        if started.elapsed() >= drain {
            cut = n;
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let terminated = client
        .query(
            "select pg_terminate_backend(pid) from pg_stat_activity
              where datname = current_database() and pid <> pg_backend_pid()
                and backend_type = 'client backend'",
            &[],
        )
        .map_err(|e| {
            crate::failed(
                format!(
                    "cannot end the other sessions on the source: {}",
                    dbsage_pgerror::headline(&e)
                ),
                "the source environment's role needs pg_signal_backend (GRANT pg_signal_backend TO <role>) or superuser",
            )
        })?
        .len();
    Ok(Drained {
        was_read_only,
        waited_ms: started.elapsed().as_millis() as u64,
        cut_transactions: cut as usize,
        terminated,
    })
}

/// True when the database's own settings make new sessions read-only.
pub fn is_read_only(client: &mut Client) -> dbsage_core::Result<bool> {
    Ok(client
        .query_one(
            "select coalesce(bool_or(s = 'default_transaction_read_only=on'), false)
               from pg_db_role_setting r, unnest(r.setconfig) s
              where r.setdatabase = (select oid from pg_database where datname = current_database())
                and r.setrole = 0",
            &[],
        )
        .map_err(db("reading the database's settings"))?
        .get(0))
}

/// Writable again (new sessions). Our own session is made writable first: it may have been
/// opened after the database went read-only.
pub fn reset(client: &mut Client) -> dbsage_core::Result<()> {
    client
        .batch_execute("SET default_transaction_read_only = off")
        .map_err(db("making this session writable"))?;
    let database: String = client
        .query_one("select current_database()::text", &[])
        .map_err(db("reading the database name"))?
        .get(0);
    client
        .batch_execute(&format!(
            "ALTER DATABASE {} RESET default_transaction_read_only",
            crate::quote_ident(&database)
        ))
        .map_err(db("setting the source writable again"))
}

/// After a failure: the source as it was, and a sentence saying so (or what to run by hand).
pub fn restore_after_failure(
    client: Option<&mut Client>,
    drained: &Drained,
    database: &str,
) -> String {
    if drained.was_read_only {
        return format!(
            "the source database {database} was read-only before the move and stays so"
        );
    }
    let undo = format!(
        "ALTER DATABASE {} RESET default_transaction_read_only;",
        crate::quote_ident(database)
    );
    match client.map(reset) {
        Some(Ok(())) => format!("the source database {database} was set writable again"),
        Some(Err(e)) => format!(
            "the source database {database} could NOT be set writable again ({e}): run `{undo}` on it"
        ),
        None => format!("the source database {database} is still read-only: run `{undo}` on it"),
    }
}
