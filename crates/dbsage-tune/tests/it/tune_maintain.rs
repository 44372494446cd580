//! `maintain` on real throwaway clusters (autovacuum off there, so nothing maintains behind
//! the test's back): what is due is found, a dry run changes nothing, a run does the work, and
//! retention deletes in batches, each its own transaction.

use crate::common;

use common::{flush_stats, setup, start};
use dbsage_tune::maintain::{self, Action, Kind, MaintainConfig, RetentionRule, Status};
use postgres::Client;

fn find<'a>(actions: &'a [Action], kind: Kind, object: &str) -> &'a Action {
    actions
        .iter()
        .find(|a| a.kind == kind && a.object == object)
        .unwrap_or_else(|| panic!("no {kind:?} on {object}: {actions:#?}"))
}

/// A table never analysed, one with most rows deleted, an index left invalid by a duplicate
/// since removed, and one whose duplicates are still there.
const DUE: &str = "
create table imports (id bigint primary key, payload text);
insert into imports select g, 'row ' || g from generate_series(1, 3000) g;
create table sessions (id bigint primary key, user_id bigint, expires_at timestamptz)
  with (autovacuum_enabled = false);
insert into sessions select g, g % 100, now() from generate_series(1, 10000) g;
analyze sessions;
delete from sessions where id <= 8000;
analyze sessions;
create table accounts (id bigint primary key, email text not null, handle text not null);
insert into accounts values (1, 'a@example.com', 'a'), (2, 'b@example.com', 'b'), (3, 'a@example.com', 'b');
analyze accounts;
";

fn stats_of(client: &mut Client, table: &str) -> (bool, bool, i64) {
    client
        .batch_execute("select pg_stat_clear_snapshot()")
        .unwrap();
    let row = client
        .query_one(
            "select last_analyze is not null, last_vacuum is not null, n_dead_tup from pg_stat_user_tables where relname = $1",
            &[&table],
        )
        .unwrap();
    (row.get(0), row.get(1), row.get(2))
}

fn is_valid(client: &mut Client, index: &str) -> bool {
    client
        .query_one(
            "select indisvalid from pg_index where indexrelid = $1::text::regclass",
            &[&index],
        )
        .unwrap()
        .get(0)
}

fn plant(client: &mut Client) {
    setup(client, DUE);
    for index in [
        "create unique index concurrently accounts_email_key on accounts (email)",
        "create unique index concurrently accounts_handle_key on accounts (handle)",
    ] {
        client.batch_execute(index).unwrap_err();
    }
    // The duplicate email is fixed; the duplicate handle is not.
    setup(
        client,
        "update accounts set email = 'c@example.com' where id = 3",
    );
}

#[test]
fn dry_run_lists_what_is_due_and_changes_nothing() {
    let (_cluster, mut client) = start();
    plant(&mut client);
    let before_sessions = stats_of(&mut client, "sessions");
    let config = MaintainConfig::default();
    let planned = maintain::plan(&mut client, &config).unwrap();
    let analyze = find(&planned, Kind::Analyze, "table public.imports");
    assert!(analyze.reason.contains("never analysed"), "{analyze:#?}");
    assert_eq!(analyze.sql, "ANALYZE public.imports");
    let vacuum = find(&planned, Kind::Vacuum, "table public.sessions");
    assert!(vacuum.reason.starts_with("8000 dead rows"), "{vacuum:#?}");
    assert_eq!(vacuum.sql, "VACUUM (ANALYZE) public.sessions");
    let reindex = find(&planned, Kind::Reindex, "index public.accounts_email_key");
    assert_eq!(
        reindex.sql,
        "REINDEX INDEX CONCURRENTLY public.accounts_email_key"
    );
    find(&planned, Kind::Reindex, "index public.accounts_handle_key");

    let done = maintain::run(&mut client, planned, &config, true, &mut |_| {}).unwrap();
    assert!(done.iter().all(|a| a.status == Status::Planned));
    assert_eq!(stats_of(&mut client, "imports"), (false, false, 0));
    assert_eq!(stats_of(&mut client, "sessions"), before_sessions);
    assert_eq!(before_sessions.2, 8000);
    assert!(!is_valid(&mut client, "accounts_email_key"));
}

#[test]
fn run_analyses_vacuums_and_reindexes_and_reports_what_failed() {
    let (_cluster, mut client) = start();
    plant(&mut client);
    let config = MaintainConfig::default();
    let planned = maintain::plan(&mut client, &config).unwrap();
    let done = maintain::run(&mut client, planned, &config, false, &mut |_| {}).unwrap();
    assert_eq!(
        find(&done, Kind::Analyze, "table public.imports").status,
        Status::Ran
    );
    assert_eq!(
        find(&done, Kind::Vacuum, "table public.sessions").status,
        Status::Ran
    );
    assert_eq!(
        find(&done, Kind::Reindex, "index public.accounts_email_key").status,
        Status::Ran
    );
    let failed = find(&done, Kind::Reindex, "index public.accounts_handle_key");
    assert_eq!(failed.status, Status::Failed);
    assert!(
        failed.detail.as_deref().unwrap().contains("23505"),
        "{failed:#?}"
    );

    assert!(stats_of(&mut client, "imports").0);
    let (analysed, vacuumed, dead) = stats_of(&mut client, "sessions");
    assert!(analysed && vacuumed && dead == 0);
    assert!(is_valid(&mut client, "accounts_email_key"));
    assert!(!is_valid(&mut client, "accounts_handle_key"));
    // Nothing left to do but the index that needs a human.
    let again = maintain::plan(&mut client, &config).unwrap();
    let objects: Vec<&str> = again.iter().map(|a| a.object.as_str()).collect();
    assert_eq!(objects, ["index public.accounts_handle_key"], "{again:#?}");
}

/// Page views, 25,000 of them older than a year, and a trigger that logs each deleting
/// transaction: the batches are counted by the server, not by dbsage.
const VIEWS: &str = "
create table page_views (id bigint generated always as identity primary key, path text not null,
                         viewed_at timestamptz not null);
insert into page_views (path, viewed_at)
  select '/p/' || g, now() - interval '400 days' - g * interval '1 minute' from generate_series(1, 25000) g;
insert into page_views (path, viewed_at)
  select '/p/' || g, now() - g * interval '1 minute' from generate_series(1, 5000) g;
create table delete_log (txid bigint not null, rows bigint not null);
create function log_delete() returns trigger language plpgsql as $$
begin
  insert into delete_log select txid_current(), count(*) from gone;
  return null;
end $$;
create trigger page_views_deletes after delete on page_views
  referencing old table as gone for each statement execute function log_delete();
analyze;
";

fn retention_config(batch_size: Option<i64>) -> MaintainConfig {
    MaintainConfig {
        retention: vec![RetentionRule {
            table: "page_views".into(),
            condition: "viewed_at < now() - interval '1 year'".into(),
            batch_size,
        }],
        pause_ms: Some(10),
    }
}

fn setup_views(client: &mut Client) {
    // One statement: the function body holds semicolons.
    client.batch_execute(VIEWS).unwrap();
    flush_stats(client);
}

#[test]
fn retention_deletes_in_batches_each_its_own_transaction() {
    let (_cluster, mut client) = start();
    setup_views(&mut client);
    let config = retention_config(None);
    let planned = maintain::plan(&mut client, &config).unwrap();
    let rule = find(&planned, Kind::Retention, "table public.page_views");
    assert_eq!(rule.rows, Some(25_000));
    assert_eq!(rule.batches, Some(3));

    // A dry run deletes nothing.
    maintain::run(&mut client, planned.clone(), &config, true, &mut |_| {}).unwrap();
    let count: i64 = client
        .query_one("select count(*) from page_views", &[])
        .unwrap()
        .get(0);
    assert_eq!(count, 30_000);

    let mut seen = Vec::new();
    let done = maintain::run(&mut client, planned, &config, false, &mut |p| {
        seen.push((p.deleted, p.total))
    })
    .unwrap();
    let rule = find(&done, Kind::Retention, "table public.page_views");
    assert_eq!(rule.status, Status::Ran);
    assert_eq!(rule.rows, Some(25_000));
    assert_eq!(rule.batches, Some(3));
    assert_eq!(seen, [(10_000, 25_000), (20_000, 25_000), (25_000, 25_000)]);
    let log: Vec<(i64, i64)> = client
        .query(
            "select count(distinct txid), max(rows) from delete_log",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    // Three transactions (the last one short), none over 10,000 rows.
    assert_eq!(log, [(3, 10_000)]);
    let left: i64 = client
        .query_one(
            "select count(*) from page_views where viewed_at < now() - interval '1 year'",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(left, 0);
    let kept: i64 = client
        .query_one("select count(*) from page_views", &[])
        .unwrap()
        .get(0);
    assert_eq!(kept, 5_000);
}

#[test]
fn retention_batch_size_and_bad_rules() {
    let (_cluster, mut client) = start();
    setup_views(&mut client);
    let config = retention_config(Some(4_000));
    let planned = maintain::plan(&mut client, &config).unwrap();
    let done = maintain::run(&mut client, planned, &config, false, &mut |_| {}).unwrap();
    assert_eq!(done.last().unwrap().batches, Some(7));
    let txids: i64 = client
        .query_one("select count(distinct txid) from delete_log", &[])
        .unwrap()
        .get(0);
    assert_eq!(txids, 7);

    let mut missing = retention_config(None);
    missing.retention[0].table = "public.page_view".into();
    let err = maintain::plan(&mut client, &missing).unwrap_err();
    assert_eq!(err.exit_code(), 2);
    assert!(
        err.to_string()
            .contains("`public.page_view`, which does not exist"),
        "{err}"
    );
    let mut empty = retention_config(None);
    empty.retention[0].condition = "  ".into();
    let err = maintain::plan(&mut client, &empty).unwrap_err();
    assert!(
        err.to_string().contains("refusing to delete every row"),
        "{err}"
    );
}
