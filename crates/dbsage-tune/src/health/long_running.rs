//! `long_running`: statements running for a long time. Defaults: warning at 60 s (PgHero's
//! long-running queries), critical at 5 min (five times that, and the default of common
//! reverse proxies' and poolers' query timeouts: the client has likely given up). Needs
//! `pg_monitor`.

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
            "long_running",
            "other roles' running queries",
        ));
    }
    let config = &config.long_running;
    let rows = client.query(
        "SELECT pid, coalesce(usename::text, ''), coalesce(datname::text, ''),
                extract(epoch FROM now() - query_start)::float8, left(query, 500),
                coalesce(wait_event_type, '')
           FROM pg_stat_activity
          WHERE state = 'active' AND backend_type = 'client backend'
            AND pid <> pg_backend_pid() AND query_start IS NOT NULL
          ORDER BY query_start",
        &[],
    )?;
    let mut longest = 0f64;
    let mut findings = Vec::new();
    for row in &rows {
        let pid: i32 = row.get(0);
        let seconds: f64 = row.get(3);
        longest = longest.max(seconds);
        let status = Status::above(seconds, config.warning_seconds, config.critical_seconds);
        if status == Status::Ok {
            continue;
        }
        let user: String = row.get(1);
        let query: String = row.get(4);
        let mut f = finding(
            "long-running-query",
            status,
            format!("session {pid}"),
            format!(
                "session {pid} ({user}) has been running one statement for {}: {}",
                human_seconds(seconds),
                query.trim()
            ),
            json!({"pid": pid, "user": user, "database": row.get::<_, String>(2),
                   "seconds": seconds, "query": query, "wait_event_type": row.get::<_, String>(5),
                   "warning_seconds": config.warning_seconds, "critical_seconds": config.critical_seconds}),
        );
        f.fix_sql = Some(format!(
            "-- cancel the statement (the session stays); pg_terminate_backend ends the session\nSELECT pg_cancel_backend({pid});"
        ));
        findings.push(f);
    }
    let ok = format!(
        "{} active statements, none running for {} or more",
        rows.len(),
        human_seconds(config.warning_seconds)
    );
    let over = findings.len();
    Ok(
        CheckReport::from_findings("long_running", findings, ok).with_metrics(vec![
            Metric::new(
                "long_running_queries",
                "Statements running past the warning threshold.",
                over as f64,
            ),
            Metric::new(
                "long_running_max_seconds",
                "The longest-running active statement, in seconds.",
                longest,
            ),
        ]),
    )
}
