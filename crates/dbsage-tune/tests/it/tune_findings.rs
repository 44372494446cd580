//! `tune` on real throwaway clusters: each problem planted the way it happens in production,
//! each finding checked with its evidence, and a healthy database that gets none.

use crate::common;

use common::{flush_stats, setup, start, start_tuned};
use std::time::Duration;

use dbsage_tune::findings::{Finding, Severity};
use dbsage_tune::{tune, TuneOptions, TuneReport};
use postgres::Client;

fn run(client: &mut Client) -> TuneReport {
    tune(client, &TuneOptions::default()).expect("tune")
}

fn judging_young_stats() -> TuneOptions {
    TuneOptions {
        min_stats_age: Duration::ZERO,
    }
}

fn of<'a>(report: &'a TuneReport, check: &str) -> Vec<&'a Finding> {
    report
        .findings
        .iter()
        .filter(|f| f.check == check)
        .collect()
}

fn one<'a>(report: &'a TuneReport, check: &str, object: &str) -> &'a Finding {
    report
        .findings
        .iter()
        .find(|f| f.check == check && f.object == object)
        .unwrap_or_else(|| panic!("no {check} finding on {object}: {:#?}", report.findings))
}

/// A shop: customers, their orders, the orders' lines, all keyed and indexed properly.
const SHOP: &str = "
create table customers (
  id bigint generated always as identity primary key,
  email text not null unique,
  name text not null
);
create table orders (
  id bigint generated always as identity primary key,
  customer_id bigint not null references customers (id),
  status text not null default 'open',
  created_at timestamptz not null default now()
);
create index orders_customer_id_created_at_idx on orders (customer_id, created_at);
create table order_lines (
  order_id bigint not null references orders (id) on delete cascade,
  line int not null,
  sku text not null,
  quantity int not null check (quantity > 0),
  primary key (order_id, line)
);
insert into customers (email, name)
  select 'c' || g || '@example.com', 'Customer ' || g from generate_series(1, 2000) g;
insert into orders (customer_id, status, created_at)
  select 1 + g % 2000, case when g % 10 = 0 then 'open' else 'shipped' end,
         now() - g * interval '1 minute'
    from generate_series(1, 20000) g;
insert into order_lines (order_id, line, sku, quantity)
  select o.id, l, 'SKU-' || (o.id * l) % 500, 1 + l from orders o, generate_series(1, 2) l;
analyze;
";

#[test]
fn healthy_database_has_no_findings() {
    let (_cluster, mut client) = start_tuned();
    setup(&mut client, SHOP);
    // The application's daily queries, through the indexes.
    for i in 0..200 {
        let c = 1 + i % 2000;
        client
            .query(
                "select * from orders where customer_id = $1 order by created_at desc limit 5",
                &[&(c as i64)],
            )
            .unwrap();
        client
            .query(
                "select * from order_lines where order_id = $1",
                &[&(c as i64)],
            )
            .unwrap();
        client
            .query(
                "select * from customers where email = $1",
                &[&format!("c{c}@example.com")],
            )
            .unwrap();
    }
    flush_stats(&mut client);
    let report = run(&mut client);
    assert!(report.findings.is_empty(), "{:#?}", report.findings);
    // Statistics a minute old: unused indexes are not judged, and the report says so.
    assert!(
        report
            .withheld
            .iter()
            .any(|w| w.check == "unused-index" && w.reason.contains("--min-stats-age")),
        "{:#?}",
        report.withheld
    );
}

#[test]
fn unindexed_foreign_key_is_reported_with_the_index_to_create() {
    let (_cluster, mut client) = start();
    setup(&mut client,
            "create table customers (id bigint primary key);
             create table invoices (id bigint primary key, customer_id bigint references customers (id),
                                    issued_on date not null);
             -- indexed through the leading column of a composite: fine
             create table payments (id bigint primary key, customer_id bigint references customers (id),
                                    paid_on date);
             create index payments_customer_paid_idx on payments (customer_id, paid_on);
             insert into customers select g from generate_series(1, 100) g;
             insert into invoices select g, 1 + g % 100, current_date from generate_series(1, 1000) g;
             analyze;",
        );
    let report = run(&mut client);
    let found = of(&report, "unindexed-foreign-key");
    assert_eq!(found.len(), 1, "{found:#?}");
    let f = found[0];
    assert_eq!(f.object, "table public.invoices");
    assert_eq!(f.severity, Severity::Warning);
    assert_eq!(f.evidence["columns"], serde_json::json!(["customer_id"]));
    assert_eq!(f.evidence["referenced_table"], "customers");
    assert_eq!(f.evidence["table_rows"], 1000);
    assert_eq!(
        f.fix_sql.as_deref(),
        Some("CREATE INDEX CONCURRENTLY IF NOT EXISTS invoices_customer_id_idx ON public.invoices (customer_id);")
    );
    // The fix works: applied, the finding is gone.
    client.batch_execute(f.fix_sql.as_deref().unwrap()).unwrap();
    assert!(of(&run(&mut client), "unindexed-foreign-key").is_empty());
}

#[test]
fn duplicate_and_redundant_indexes_are_reported_never_constraint_ones() {
    let (_cluster, mut client) = start();
    setup(&mut client,
            "create table events (
               id bigint primary key,
               account_id bigint not null,
               kind text not null,
               at timestamptz not null,
               code text unique
             );
             create index events_account_idx on events (account_id);
             create index events_account_idx2 on events (account_id);       -- exact duplicate
             create index events_account_at_idx on events (account_id, at);  -- makes both redundant
             create index events_kind_desc_idx on events (kind desc);
             create index events_kind_at_idx on events (kind, at);          -- other sort order: not a prefix
             create index events_open_idx on events (account_id) where kind = 'open';
             create index events_id_idx on events (id);                     -- duplicates the primary key
             create index events_code_idx on events (code);                 -- duplicates the unique constraint
             insert into events select g, g % 50, 'k' || g % 3, now(), 'c' || g from generate_series(1, 500) g;
             analyze;",
        );
    let report = run(&mut client);
    let dup: Vec<&str> = of(&report, "duplicate-index")
        .iter()
        .map(|f| f.object.as_str())
        .collect();
    assert_eq!(
        dup,
        [
            "index public.events_account_idx2",
            "index public.events_code_idx",
            "index public.events_id_idx"
        ],
        "{:#?}",
        report.findings
    );
    let id = one(&report, "duplicate-index", "index public.events_id_idx");
    assert_eq!(id.evidence["duplicate_of"], "public.events_pkey");
    assert_eq!(
        id.fix_sql.as_deref(),
        Some("DROP INDEX CONCURRENTLY IF EXISTS public.events_id_idx;")
    );
    let code = one(&report, "duplicate-index", "index public.events_code_idx");
    assert_eq!(code.evidence["duplicate_of"], "public.events_code_key");

    let red: Vec<&str> = of(&report, "redundant-index")
        .iter()
        .map(|f| f.object.as_str())
        .collect();
    assert_eq!(
        red,
        [
            "index public.events_account_idx",
            "index public.events_account_idx2"
        ],
        "{:#?}",
        report.findings
    );
    let r = one(
        &report,
        "redundant-index",
        "index public.events_account_idx",
    );
    assert_eq!(r.evidence["covered_by"], "public.events_account_at_idx");
    assert!(r.evidence["index_bytes"].as_i64().unwrap() > 0);
    // Nothing that enforces something is ever proposed for dropping.
    for f in &report.findings {
        let sql = f.fix_sql.as_deref().unwrap_or("");
        assert!(
            !sql.contains("events_pkey") && !sql.contains("events_code_key"),
            "{f:#?}"
        );
    }
}

#[test]
fn invalid_index_from_a_failed_concurrent_unique_build() {
    let (_cluster, mut client) = start();
    setup(&mut client,
            "create table users (id bigint primary key, email text not null);
             insert into users values (1, 'a@example.com'), (2, 'b@example.com'), (3, 'a@example.com');",
        );
    let err = client
        .batch_execute("create unique index concurrently users_email_key on users (email)")
        .unwrap_err();
    assert_eq!(
        err.code(),
        Some(&postgres::error::SqlState::UNIQUE_VIOLATION)
    );
    let report = run(&mut client);
    let f = one(&report, "invalid-index", "index public.users_email_key");
    assert_eq!(f.severity, Severity::Error);
    assert_eq!(f.evidence["unique"], true);
    assert!(f.message.contains("enforces nothing"), "{}", f.message);
    assert!(f
        .fix_sql
        .as_deref()
        .unwrap()
        .starts_with("REINDEX INDEX CONCURRENTLY public.users_email_key;"));
    // An invalid index is not also reported as a duplicate or unused.
    let again = tune(&mut client, &judging_young_stats()).unwrap();
    assert_eq!(
        again
            .findings
            .iter()
            .filter(|f| f.object == "index public.users_email_key")
            .count(),
        1
    );
}

#[test]
fn table_without_primary_key_and_not_its_partitions() {
    let (_cluster, mut client) = start();
    setup(
        &mut client,
        "create table audit_log (at timestamptz not null, message text);
             create table measurements (sensor int not null, at date not null, value float8,
                                        primary key (sensor, at)) partition by range (at);
             create table measurements_2026 partition of measurements
               for values from ('2026-01-01') to ('2027-01-01');
             create table loose_parent (a int) partition by list (a);
             create table loose_child partition of loose_parent for values in (1);
             analyze;",
    );
    let report = run(&mut client);
    let objects: Vec<&str> = of(&report, "no-primary-key")
        .iter()
        .map(|f| f.object.as_str())
        .collect();
    assert_eq!(
        objects,
        ["table public.audit_log", "table public.loose_parent"]
    );
}

#[test]
fn sequential_scans_on_a_large_table_are_reported() {
    let (cluster, mut client) = start();
    setup(&mut client,
            "create table tickets (id bigint primary key, status text not null, body text);
             insert into tickets select g, case when g % 100 = 0 then 'open' else 'closed' end, 'body ' || g
               from generate_series(1, 20000) g;
             create table tags (id bigint primary key, name text);
             insert into tags select g, 't' || g from generate_series(1, 20000) g;
             analyze;",
        );
    let mut app = cluster.connect("postgres").unwrap();
    for i in 0..150 {
        // No index on status: every call reads the whole table.
        app.query("select id from tickets where status = 'open'", &[])
            .unwrap();
        // Through the primary key: not a sequential-scan table.
        app.query("select name from tags where id = $1", &[&(i as i64 + 1)])
            .unwrap();
    }
    flush_stats(&mut app);
    let report = run(&mut client);
    let found = of(&report, "seq-scan-heavy-table");
    assert_eq!(found.len(), 1, "{found:#?}");
    let f = found[0];
    assert_eq!(f.object, "table public.tickets");
    assert!(f.evidence["seq_scan"].as_i64().unwrap() >= 150, "{f:#?}");
    assert!(f.evidence["seq_tup_read"].as_i64().unwrap() >= 150 * 20000);
    assert_eq!(f.evidence["rows"], 20000);
    assert!(f.evidence["seq_scan_share"].as_f64().unwrap() > 0.9);
}

#[test]
fn stale_statistics_never_analysed_or_changed_since() {
    let (_cluster, mut client) = start();
    // Throwaway clusters run without autovacuum: nothing analyses behind the test's back.
    setup(
        &mut client,
        "create table imports (id bigint primary key, payload text);
             insert into imports select g, 'row ' || g from generate_series(1, 5000) g;
             create table prices (id bigint primary key, amount numeric);
             insert into prices select g, g from generate_series(1, 5000) g;
             analyze prices;
             update prices set amount = amount * 1.1 where id <= 3000;
             create table settled (id bigint primary key);
             insert into settled select generate_series(1, 5000);
             analyze settled;
             update settled set id = id where id <= 10;
             create table empty_table (id bigint primary key);",
    );
    flush_stats(&mut client);
    let report = run(&mut client);
    let objects: Vec<&str> = of(&report, "stale-statistics")
        .iter()
        .map(|f| f.object.as_str())
        .collect();
    assert_eq!(
        objects,
        ["table public.imports", "table public.prices"],
        "{:#?}",
        report.findings
    );
    let never = one(&report, "stale-statistics", "table public.imports");
    assert!(never.message.contains("never analysed"));
    assert_eq!(never.evidence["last_analyzed"], serde_json::Value::Null);
    let changed = one(&report, "stale-statistics", "table public.prices");
    assert_eq!(changed.evidence["modified_since_analyze"], 3000);
    // 50 + 10 % of 5,000 rows.
    assert_eq!(changed.evidence["analyze_threshold"], 550);
    assert_eq!(changed.fix_sql.as_deref(), Some("ANALYZE public.prices;"));
}

/// A log table with autovacuum off, 90 % of its rows deleted.
const BLOATED: &str = "
create table page_views (id bigint generated always as identity primary key,
                         path text not null, referrer text, viewed_at timestamptz not null default now())
  with (autovacuum_enabled = false);
insert into page_views (path, referrer)
  select '/articles/' || g || '/a-fairly-long-slug-for-the-article', 'https://example.com/search?q=' || g
    from generate_series(1, 60000) g;
analyze page_views;
delete from page_views where id % 10 <> 0;
";

#[test]
fn bloat_is_estimated_only_on_fresh_statistics() {
    let (_cluster, mut client) = start();
    setup(&mut client, BLOATED);
    flush_stats(&mut client);
    // Right after the delete the statistics are stale: no figure, and the report says why.
    let report = run(&mut client);
    assert!(
        of(&report, "table-bloat").is_empty(),
        "{:#?}",
        report.findings
    );
    assert!(
        of(&report, "index-bloat").is_empty(),
        "{:#?}",
        report.findings
    );
    let withheld = report
        .withheld
        .iter()
        .find(|w| w.check == "table-bloat" && w.object == "table public.page_views")
        .expect("a withheld table-bloat figure");
    assert!(withheld.reason.contains("stale"), "{}", withheld.reason);
    assert!(report
        .withheld
        .iter()
        .any(|w| w.check == "index-bloat" && w.object == "index public.page_views_pkey"));

    setup(&mut client, "analyze page_views");
    flush_stats(&mut client);
    let report = run(&mut client);
    let t = one(&report, "table-bloat", "table public.page_views");
    assert_eq!(t.evidence["method"], "estimate from pg_stats");
    assert_eq!(t.evidence["rows"], 6000);
    let share = t.evidence["wasted_share"].as_f64().unwrap();
    assert!((0.8..0.95).contains(&share), "{t:#?}");
    assert!(t
        .fix_sql
        .as_deref()
        .unwrap()
        .starts_with("VACUUM (ANALYZE) public.page_views;"));
    let i = one(&report, "index-bloat", "index public.page_views_pkey");
    assert!(i.evidence["wasted_share"].as_f64().unwrap() > 0.8, "{i:#?}");
    assert_eq!(
        i.fix_sql.as_deref(),
        Some("REINDEX INDEX CONCURRENTLY public.page_views_pkey;")
    );

    // Vacuumed and reindexed: the figures drop below the thresholds... for the index; the
    // table keeps its pages (VACUUM frees them for reuse) but pgstattuple measures the truth.
    setup(
        &mut client,
        "reindex index page_views_pkey; analyze page_views;",
    );
    let report = run(&mut client);
    assert!(
        of(&report, "index-bloat").is_empty(),
        "{:#?}",
        report.findings
    );
}

#[test]
fn bloat_is_measured_with_pgstattuple_when_installed_even_on_stale_statistics() {
    let (_cluster, mut client) = start();
    setup(&mut client, BLOATED);
    setup(&mut client, "create extension pgstattuple");
    let report = run(&mut client);
    let t = one(&report, "table-bloat", "table public.page_views");
    assert_eq!(t.evidence["method"], "pgstattuple_approx");
    assert!(
        t.evidence["dead_tuple_bytes"].as_i64().unwrap() > 1024 * 1024,
        "{t:#?}"
    );
    assert!(t.evidence["wasted_share"].as_f64().unwrap() > 0.8, "{t:#?}");
    // Vacuumed, the dead rows become free space: still wasted, still reported, by measure.
    setup(&mut client, "vacuum page_views");
    let t = one(&run(&mut client), "table-bloat", "table public.page_views").clone();
    assert_eq!(t.evidence["dead_tuple_bytes"], 0);
    assert!(t.evidence["free_bytes"].as_i64().unwrap() > 1024 * 1024);
}

#[test]
fn sequences_near_their_limit_counting_the_column_type() {
    let (_cluster, mut client) = start();
    setup(&mut client,
            "create table clicks (id serial primary key, at timestamptz);
             select setval('clicks_id_seq', 2040109466);          -- 95 % of integer
             create table visits (id integer primary key);
             create sequence visits_id_seq as bigint owned by visits.id;
             alter table visits alter id set default nextval('visits_id_seq');
             select setval('visits_id_seq', 1700000000);          -- bigint sequence, integer column: 79 %
             create table small (id smallint generated by default as identity primary key);
             select setval(pg_get_serial_sequence('small', 'id'), 100);
             create sequence invoice_numbers;                     -- bigint, nowhere near
             select setval('invoice_numbers', 5000000000);
             -- keys the application assigns: judged on the largest one
             create table legacy_tickets (id integer primary key, title text);
             insert into legacy_tickets values (1, 'first'), (1717986918, 'latest');   -- 80 %
             create table legacy_notes (id integer primary key);
             insert into legacy_notes values (1000000);",
        );
    let report = run(&mut client);
    let found = of(&report, "sequence-near-limit");
    assert_eq!(found.len(), 3, "{found:#?}");
    let legacy = one(
        &report,
        "sequence-near-limit",
        "column public.legacy_tickets.id",
    );
    assert_eq!(legacy.severity, Severity::Warning);
    assert_eq!(legacy.evidence["last_value"], 1717986918i64);
    assert_eq!(legacy.evidence["percent_used"], 80.0);
    let clicks = one(
        &report,
        "sequence-near-limit",
        "sequence public.clicks_id_seq",
    );
    assert_eq!(clicks.severity, Severity::Error);
    assert_eq!(clicks.evidence["last_value"], 2040109466i64);
    assert_eq!(clicks.evidence["max_value"], 2147483647i64);
    assert_eq!(clicks.evidence["percent_used"], 95.0);
    assert!(clicks
        .fix_sql
        .as_deref()
        .unwrap()
        .contains("ALTER TABLE public.clicks ALTER COLUMN id TYPE bigint;"));
    let visits = one(
        &report,
        "sequence-near-limit",
        "sequence public.visits_id_seq",
    );
    assert_eq!(visits.severity, Severity::Warning);
    assert_eq!(visits.evidence["sequence_type"], "bigint");
    assert_eq!(visits.evidence["column_type"], "integer");
    assert_eq!(visits.evidence["max_value"], 2147483647i64);
}

#[test]
fn unused_indexes_only_on_old_enough_statistics_and_never_constraint_ones() {
    let (_cluster, mut client) = start();
    setup(&mut client,
            "create table products (id bigint primary key, sku text unique, name text, created_at timestamptz);
             create index products_created_at_idx on products (created_at);
             create index products_name_idx on products (name);
             insert into products select g, 's' || g, 'p' || g, now() from generate_series(1, 2000) g;
             analyze;",
        );
    for i in 0..60 {
        client
            .query(
                "select * from products where name = $1",
                &[&format!("p{i}")],
            )
            .unwrap();
    }
    flush_stats(&mut client);
    let report = run(&mut client);
    assert!(of(&report, "unused-index").is_empty());
    let note = report
        .withheld
        .iter()
        .find(|w| w.check == "unused-index")
        .unwrap();
    assert!(note.reason.contains("7 days"), "{}", note.reason);

    let report = tune(&mut client, &judging_young_stats()).unwrap();
    let found = of(&report, "unused-index");
    assert_eq!(found.len(), 1, "{found:#?}");
    let f = found[0];
    assert_eq!(f.object, "index public.products_created_at_idx");
    assert_eq!(f.evidence["scans"], 0);
    assert!(f.evidence["stats_since"].as_str().is_some());
    assert_eq!(report.statistics.source, "pg_postmaster_start_time()");
    assert_eq!(
        f.fix_sql.as_deref(),
        Some("DROP INDEX CONCURRENTLY IF EXISTS public.products_created_at_idx;")
    );
}

#[test]
fn low_cache_hit_ratio_when_the_working_set_does_not_fit() {
    let (cluster, mut client) = start();
    // Throwaway clusters run with 32 MB of shared buffers; this table is larger.
    setup(&mut client,
            "create table readings (id bigint primary key, sensor int, payload text);
             insert into readings select g, g % 100, repeat('x', 200) from generate_series(1, 200000) g;
             analyze readings;
             select pg_stat_reset();",
        );
    let mut app = cluster.connect("postgres").unwrap();
    for _ in 0..3 {
        app.query("select count(*) from readings where sensor = 7", &[])
            .unwrap();
    }
    flush_stats(&mut app);
    // Minutes of statistics: not judged.
    let report = run(&mut client);
    assert!(of(&report, "low-cache-hit-ratio").is_empty());
    assert!(report
        .withheld
        .iter()
        .any(|w| w.check == "low-cache-hit-ratio"));
    let report = tune(&mut client, &judging_young_stats()).unwrap();
    let f = one(&report, "low-cache-hit-ratio", "table cache");
    assert!(f.evidence["hit_ratio"].as_f64().unwrap() < 0.95, "{f:#?}");
    let (hit, read) = (
        f.evidence["blocks_hit"].as_i64().unwrap(),
        f.evidence["blocks_read"].as_i64().unwrap(),
    );
    assert!(hit + read >= 10_000 && read >= 1_000, "{f:#?}");
    assert_eq!(f.evidence["shared_buffers_bytes"], 32 * 1024 * 1024);
    // A superuser may read the server's /proc/meminfo.
    assert!(f.evidence["server_ram_bytes"].as_i64().unwrap() > 0);
}

#[test]
fn work_mem_at_its_default_only_when_sorts_spill() {
    let (cluster, mut client) = start();
    assert!(of(&run(&mut client), "setting-work-mem").is_empty());
    let mut app = cluster.connect("postgres").unwrap();
    app.query(
        "select count(*) from (select g from generate_series(1, 400000) g order by md5(g::text)) s",
        &[],
    )
    .unwrap();
    flush_stats(&mut app);
    let report = run(&mut client);
    let f = one(&report, "setting-work-mem", "setting work_mem");
    assert_eq!(f.severity, Severity::Info);
    assert_eq!(f.evidence["work_mem"], "4MB");
    assert!(f.evidence["temp_files"].as_i64().unwrap() >= 1);
    assert!(f.message.contains("judgement"));
}
