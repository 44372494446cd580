//! `blocking`: sessions waiting on a lock, who blocks them (`pg_blocking_pids`: every holder
//! and every earlier waiter in the queue, so a session behind several blockers lists them all)
//! and the sessions at the head of each chain, with their queries. Defaults: warning when a
//! session has waited 10 s (ten times `deadlock_timeout`'s 1 s, past any lock a healthy
//! transaction holds briefly), critical at 2 min (Supabase's "locks older than 2 min").
//! Needs `pg_monitor`.

use std::collections::{BTreeMap, BTreeSet};

use postgres::Client;
use serde::Deserialize;
use serde_json::json;

use super::{
    finding, human_seconds, needs_monitor, CheckReport, Context, HealthConfig, Metric, Status,
};

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// How long a session has waited for its lock.
    pub warning_seconds: f64,
    pub critical_seconds: f64,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            warning_seconds: 10.0,
            critical_seconds: 120.0,
        }
    }
}

struct Session {
    user: String,
    state: String,
    query: String,
    /// Since the current statement (active) or the last state change.
    seconds: f64,
    xact_seconds: Option<f64>,
    blocked_by: Vec<i32>,
}

pub fn check(
    client: &mut Client,
    config: &HealthConfig,
    context: &Context,
) -> Result<CheckReport, postgres::Error> {
    if !context.monitor {
        return Ok(needs_monitor("blocking", "other roles' locks and queries"));
    }
    let config = &config.blocking;
    // One pass over pg_stat_activity: the waiting sessions and everything they wait for.
    let rows = client.query(
        "WITH waiting AS (
             SELECT pid, pg_blocking_pids(pid) AS blocked_by
               FROM pg_stat_activity
              WHERE wait_event_type = 'Lock' AND pid <> pg_backend_pid())
         SELECT a.pid, coalesce(a.usename::text, ''), coalesce(a.state, ''), left(a.query, 500),
                extract(epoch FROM now() - coalesce(a.state_change, a.backend_start))::float8,
                extract(epoch FROM now() - a.xact_start)::float8,
                coalesce(w.blocked_by, '{}')
           FROM pg_stat_activity a
           LEFT JOIN waiting w USING (pid)
          WHERE cardinality(w.blocked_by) > 0
             OR a.pid IN (SELECT unnest(blocked_by) FROM waiting)",
        &[],
    )?;
    let sessions: BTreeMap<i32, Session> = rows
        .iter()
        .map(|r| {
            (
                r.get(0),
                Session {
                    user: r.get(1),
                    state: r.get(2),
                    query: r.get(3),
                    seconds: r.get(4),
                    xact_seconds: r.get(5),
                    blocked_by: r.get(6),
                },
            )
        })
        .collect();
    let mut findings = Vec::new();
    let mut longest = 0f64;
    let mut blocked = 0;
    for (pid, session) in &sessions {
        if session.blocked_by.is_empty() {
            continue;
        }
        blocked += 1;
        longest = longest.max(session.seconds);
        let status = Status::above(
            session.seconds,
            config.warning_seconds,
            config.critical_seconds,
        );
        if status == Status::Ok {
            continue;
        }
        let roots = chain_roots(*pid, &sessions);
        let describe = |p: &i32| match sessions.get(p) {
            Some(s) => json!({"pid": p, "user": s.user, "state": s.state, "query": s.query,
                               "transaction_seconds": s.xact_seconds,
                               "blocked_by": s.blocked_by}),
            // Gone between the two reads of the same snapshot: only its pid is known.
            None => json!({"pid": p}),
        };
        let blockers: Vec<String> = session
            .blocked_by
            .iter()
            .map(|p| match sessions.get(p) {
                Some(s) => format!("{p} ({}, {}: {})", s.user, s.state, s.query.trim()),
                None => p.to_string(),
            })
            .collect();
        let mut f = finding(
            "blocked-session",
            status,
            format!("session {pid}"),
            format!(
                "session {pid} ({}) has waited {} for a lock held or queued ahead by {}; its statement: {}",
                session.user,
                human_seconds(session.seconds),
                blockers.join(", "),
                session.query.trim()
            ),
            json!({
                "pid": pid, "user": session.user, "query": session.query,
                "waiting_seconds": session.seconds,
                "blocked_by": session.blocked_by.iter().map(describe).collect::<Vec<_>>(),
                "chain_heads": roots,
                "warning_seconds": config.warning_seconds, "critical_seconds": config.critical_seconds,
            }),
        );
        f.fix_sql = Some(
            std::iter::once(
                "-- the sessions at the head of the chain; ending one rolls its transaction back"
                    .to_string(),
            )
            .chain(
                roots
                    .iter()
                    .map(|p| format!("SELECT pg_terminate_backend({p});")),
            )
            .collect::<Vec<_>>()
            .join("\n"),
        );
        findings.push(f);
    }
    let ok = if blocked == 0 {
        "no session waits for a lock".to_string()
    } else {
        format!(
            "{blocked} sessions wait for a lock, none for {} or more",
            human_seconds(config.warning_seconds)
        )
    };
    Ok(
        CheckReport::from_findings("blocking", findings, ok).with_metrics(vec![
            Metric::new(
                "blocked_sessions",
                "Sessions waiting for a lock another session holds.",
                f64::from(blocked),
            ),
            Metric::new(
                "blocked_max_seconds",
                "The longest wait for a lock, in seconds.",
                longest,
            ),
        ]),
    )
}

/// The sessions at the head of `pid`'s chains: blockers (transitively) that wait for nobody.
fn chain_roots(pid: i32, sessions: &BTreeMap<i32, Session>) -> Vec<i32> {
    let mut roots = BTreeSet::new();
    let mut seen = BTreeSet::from([pid]);
    let mut todo = vec![pid];
    while let Some(p) = todo.pop() {
        let blockers = sessions.get(&p).map(|s| &s.blocked_by[..]).unwrap_or(&[]);
        for b in blockers {
            if !seen.insert(*b) {
                continue;
            }
            match sessions.get(b) {
                Some(s) if !s.blocked_by.is_empty() => todo.push(*b),
                _ => {
                    roots.insert(*b);
                }
            }
        }
    }
    roots.into_iter().collect()
}
