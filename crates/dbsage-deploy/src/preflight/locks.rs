//! No long-running transaction holds a lock on a table the pending migrations touch: their DDL
//! would queue behind it, and every query on the table behind the DDL. Waits up to
//! `[deploy] lock_wait` for such transactions to end, then names them (pid, who, query).

use std::time::{Duration, Instant};

use dbsage_core::migrations::MigrationFile;
use postgres::Client;

use crate::step::{StepReport, StepStatus};

/// A session holding a lock the migrations will need.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Holder {
    pub pid: i32,
    pub user: String,
    pub application_name: String,
    pub state: String,
    pub transaction_seconds: f64,
    pub relation: String,
    pub mode: String,
    pub query: String,
}

impl Holder {
    pub fn describe(&self) -> String {
        format!(
            "pid {} (user '{}', application_name '{}', {}, transaction open {:.1} s) holds {} on {}: {}",
            self.pid,
            self.user,
            self.application_name,
            self.state,
            self.transaction_seconds,
            self.mode,
            self.relation,
            self.query
        )
    }
}

/// The tables the pending files name (their statements and DO blocks).
pub fn touched_tables(pending: &[&MigrationFile]) -> Vec<String> {
    let mut tables: Vec<String> = pending
        .iter()
        .flat_map(|f| dbsage_core::migrate::relations_named(&f.text))
        .collect();
    tables.sort();
    tables.dedup();
    tables
}

pub fn holders(
    client: &mut Client,
    tables: &[String],
    older_than: Duration,
) -> dbsage_core::Result<Vec<Holder>> {
    let rows = client
        .query(
            "select a.pid, coalesce(a.usename::text, '?'), coalesce(a.application_name, ''),
                    coalesce(a.state, '?'), extract(epoch from now() - a.xact_start)::float8,
                    l.relation::regclass::text, l.mode, left(coalesce(a.query, ''), 300)
             from pg_locks l join pg_stat_activity a on a.pid = l.pid
             where l.granted and l.locktype = 'relation' and l.pid <> pg_backend_pid()
               and l.relation in (select to_regclass(t) from unnest($1::text[]) t)
               and a.xact_start is not null
               and now() - a.xact_start >= make_interval(secs => $2::float8)
             order by a.pid, 6",
            &[&tables, &older_than.as_secs_f64()],
        )
        .map_err(|e| dbsage_core::Error::db("reading the locks held on the migrated tables", e))?;
    Ok(rows
        .iter()
        .map(|r| Holder {
            pid: r.get(0),
            user: r.get(1),
            application_name: r.get(2),
            state: r.get(3),
            transaction_seconds: r.get(4),
            relation: r.get(5),
            mode: r.get(6),
            query: r.get(7),
        })
        .collect())
}

/// Waits for the holders to go (up to `bound`; not at all when `bound` is zero, as in `--plan`).
pub fn check(
    client: &mut Client,
    pending: &[&MigrationFile],
    older_than: Duration,
    bound: Duration,
    note: &mut dyn FnMut(String),
) -> dbsage_core::Result<StepReport> {
    let tables = touched_tables(pending);
    let started = Instant::now();
    let mut announced = false;
    loop {
        let found = holders(client, &tables, older_than)?;
        if found.is_empty() {
            let waited = started.elapsed();
            let message = if announced {
                format!(
                    "the lock holders finished after {:.1} s; {} clear",
                    waited.as_secs_f64(),
                    dbsage_core::wording::plural(tables.len(), "table")
                )
            } else {
                format!(
                    "no long-running transaction holds a lock on the {} the pending migrations touch",
                    dbsage_core::wording::plural(tables.len(), "table")
                )
            };
            return Ok(
                StepReport::new("preflight.locks", StepStatus::Passed, message)
                    .with_details(tables),
            );
        }
        if started.elapsed() >= bound {
            let details = found.iter().map(Holder::describe).collect();
            return Ok(StepReport::new(
                "preflight.locks",
                StepStatus::Failed,
                format!(
                    "{} still {} locks on tables the pending migrations touch after waiting {:.0} s ([deploy] lock_wait): end {} (pg_terminate_backend(pid)) or deploy later",
                    dbsage_core::wording::plural(found.len(), "session"),
                    if found.len() == 1 { "holds" } else { "hold" },
                    bound.as_secs_f64(),
                    if found.len() == 1 { "it" } else { "them" }
                ),
            )
            .with_details(details));
        }
        if !announced {
            announced = true;
            for h in &found {
                note(format!("waiting for {}", h.describe()));
            }
        }
        std::thread::sleep(Duration::from_millis(250));
    }
}
