//! `tracking-table`: a new table named for analytics or tracking (`*_events`, `*_logs`,
//! `metrics`, …).

use serde_json::json;

use super::{bare, Check, Context, Doc, Raised};

/// Last words of a table name that say "we record what happens, in case we want it later".
const TRACKING_WORDS: &[&str] = &[
    "events",
    "event",
    "logs",
    "log",
    "analytics",
    "metrics",
    "tracking",
    "telemetry",
    "stats",
    "statistics",
    "pageviews",
    "clicks",
    "impressions",
    "visits",
];

/// A table named by one word alone reads as tracking only for these: a bare `events` or
/// `visits` is the domain of a ticketing or clinic app.
const TRACKING_ALONE: &[&str] = &[
    "analytics",
    "metrics",
    "tracking",
    "telemetry",
    "logs",
    "pageviews",
    "impressions",
];

/// Audit trails are a requirement (who changed what), not speculative analytics.
const EXEMPT_FIRST_WORDS: &[&str] = &["audit"];

pub const CHECK: Check = Check {
    doc: Doc {
        id: "tracking-table",
        summary: "a new table named for analytics or tracking (*_events, *_logs, *_analytics, metrics, tracking, …)",
        why: "Tracking tables grow without bound, are written on hot paths and are rarely read: the data sits there \"for later\". Analytics usually belongs in the product's analytics tool or the server's own statistics (pg_stat_statements, logs) until a question needs it.",
        bad: "create table page_view_events (id bigserial primary key, user_id uuid, path text, at timestamptz);",
        good: "-- no table: the question \"which pages are used\" is answered by the web analytics already in place",
        fix: "Name the question the data answers and who reads it; without one, drop the table. With one, add -- dbsage:justify \"…\" and a retention rule ([[maintain.retention]]).",
    },
    run,
};

/// True when `name` (unqualified) reads as a tracking table.
pub fn is_tracking_name(name: &str) -> bool {
    let words: Vec<&str> = name.split('_').filter(|w| !w.is_empty()).collect();
    let (Some(first), Some(last)) = (words.first(), words.last()) else {
        return false;
    };
    if words.len() == 1 {
        return TRACKING_ALONE.contains(first);
    }
    !EXEMPT_FIRST_WORDS.contains(first) && TRACKING_WORDS.contains(last)
}

fn run(cx: &Context) -> Vec<Raised> {
    cx.change
        .new_tables
        .iter()
        .filter(|t| is_tracking_name(bare(&t.name)))
        .map(|t| Raised {
            keys: vec![format!("table {}", t.name)],
            object: format!("table {}", t.name),
            message: format!(
                "`{}` reads as analytics or tracking: which question does it answer, and who reads it?",
                t.name
            ),
            evidence: json!({ "table": t.name }),
            fix_sql: None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use super::*;

    #[test]
    fn names_that_track() {
        for name in [
            "page_view_events",
            "api_logs",
            "user_analytics",
            "metrics",
            "tracking",
            "login_log",
            "logs",
        ] {
            assert!(is_tracking_name(name), "{name}");
        }
    }

    #[test]
    fn names_that_do_not() {
        for name in [
            "events",
            "visits",
            "profiles",
            "event_tickets",
            "audit_log",
            "catalog",
            "blog_posts",
            "logins",
        ] {
            assert!(!is_tracking_name(name), "{name}");
        }
    }

    #[test]
    fn raised_on_a_new_tracking_table_only() {
        let t = |n| {
            table(
                n,
                &[
                    ("id", "bigint", true),
                    ("at", "timestamp with time zone", true),
                ],
            )
        };
        assert_eq!(raised(&CHECK, vec![], vec![t("click_events")]).len(), 1);
        assert!(raised(&CHECK, vec![t("click_events")], vec![]).is_empty());
        assert!(raised(&CHECK, vec![], vec![supabase_profiles()]).is_empty());
    }
}
