//! `idle_in_transaction`: sessions that opened a transaction and went quiet, holding their
//! locks and the xmin horizon (vacuum cannot clean behind them). Defaults: warning after 60 s
//! (PgHero's long-running threshold), critical after 5 min (five times that: no client work
//! legitimately pauses that long inside a transaction, and the locks and horizon it holds
//! block DDL and vacuum). Needs `pg_monitor`.

use postgres::Client;
use serde_json::json;

use super::{
    finding, human_seconds, needs_monitor, CheckReport, Context, HealthConfig, Metric, Status,
};

pub fn check(
    client: &mut Client,
    config: &HealthConfig,
    context: &Context,
) -> Result<CheckReport, postgres::Error> {
    if !context.monitor {
        return Ok(needs_monitor(
            "idle_in_transaction",
            "other roles' session states",
        ));
    }
    let config = &config.idle_in_transaction;
    let rows = client.query(
        "SELECT pid, coalesce(usename::text, ''), coalesce(datname::text, ''),
                coalesce(application_name, ''), state,
                extract(epoch FROM now() - state_change)::float8,
                left(query, 500)
           FROM pg_stat_activity
          WHERE state IN ('idle in transaction', 'idle in transaction (aborted)')
            AND pid <> pg_backend_pid()
          ORDER BY state_change",
        &[],
    )?;
    let mut longest = 0f64;
    let mut findings = Vec::new();
    for row in &rows {
        let pid: i32 = row.get(0);
        let seconds: f64 = row.get(5);
        longest = longest.max(seconds);
        let status = Status::above(seconds, config.warning_seconds, config.critical_seconds);
        if status == Status::Ok {
            continue;
        }
        let user: String = row.get(1);
        let state: String = row.get(4);
        let query: String = row.get(6);
        let mut f = finding(
            "idle-in-transaction",
            status,
            format!("session {pid}"),
            format!(
                "session {pid} ({user}) has been {state} for {}; its last statement: {}",
                human_seconds(seconds),
                query.trim()
            ),
            json!({"pid": pid, "user": user, "database": row.get::<_, String>(2),
                   "application_name": row.get::<_, String>(3), "state": state,
                   "seconds": seconds, "last_query": query,
                   "warning_seconds": config.warning_seconds, "critical_seconds": config.critical_seconds}),
        );
        f.fix_sql = Some(format!(
            "-- end it (its transaction rolls back); then fix the client, or set idle_in_transaction_session_timeout\nSELECT pg_terminate_backend({pid});"
        ));
        findings.push(f);
    }
    let ok = format!(
        "{} idle in transaction, none for {} or more",
        rows.len(),
        human_seconds(config.warning_seconds)
    );
    Ok(
        CheckReport::from_findings("idle_in_transaction", findings, ok).with_metrics(vec![
            Metric::new(
                "idle_in_transaction_sessions",
                "Sessions idle in a transaction.",
                rows.len() as f64,
            ),
            Metric::new(
                "idle_in_transaction_max_seconds",
                "The longest time a session has been idle in a transaction.",
                longest,
            ),
        ]),
    )
}
