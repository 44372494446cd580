//! `index-bloat` both ways: measured with `pgstatindex` when pgstattuple is installed (even on
//! statistics too stale for the estimate), the `pg_stats` estimate otherwise.

use crate::common;

use common::{setup, start};

use dbsage_tune::findings::Finding;
use dbsage_tune::{tune, TuneOptions, TuneReport};
use postgres::Client;

fn run(client: &mut Client) -> TuneReport {
    tune(client, &TuneOptions::default()).expect("tune")
}

fn index_bloat<'a>(report: &'a TuneReport, index: &str) -> Option<&'a Finding> {
    report
        .findings
        .iter()
        .find(|f| f.check == "index-bloat" && f.object == format!("index {index}"))
}

/// An events table whose old rows were purged: nine in ten deleted, then vacuumed (autovacuum
/// off for it, as on a table someone "tuned"), so its indexes keep their pages nearly empty.
const PURGED: &str = "
create table events (id bigint generated always as identity primary key,
                     kind text not null, payload text, created_at timestamptz not null default now())
  with (autovacuum_enabled = false);
create index events_created_at_idx on events (created_at);
insert into events (kind, payload, created_at)
  select 'click', 'element #' || g || ' on /products/' || (g % 500), now() - g * interval '1 second'
    from generate_series(1, 80000) g;
analyze events;
delete from events where id % 10 <> 0;
vacuum events;
";

#[test]
fn index_bloat_is_measured_with_pgstatindex_when_installed() {
    let (_cluster, mut client) = start();
    setup(&mut client, PURGED);

    // Without the extension: the estimate, refused on statistics stale since the purge.
    let report = run(&mut client);
    assert!(index_bloat(&report, "public.events_pkey").is_none());
    assert!(
        report
            .withheld
            .iter()
            .any(|w| w.check == "index-bloat" && w.object == "index public.events_pkey"),
        "{:#?}",
        report.withheld
    );

    // With pgstattuple: measured, stale statistics or not.
    setup(&mut client, "create extension pgstattuple");
    let report = run(&mut client);
    let f = index_bloat(&report, "public.events_pkey")
        .unwrap_or_else(|| panic!("{:#?} {:#?}", report.findings, report.withheld));
    assert_eq!(f.evidence["method"], "pgstatindex");
    assert_eq!(f.evidence["fillfactor"], 90.0);
    let density = f.evidence["avg_leaf_density"].as_f64().unwrap();
    assert!(density < 20.0, "{f:#?}");
    assert!(f.evidence["wasted_share"].as_f64().unwrap() > 0.7, "{f:#?}");
    assert!(f.evidence["leaf_pages"].as_i64().unwrap() > 100, "{f:#?}");
    assert!(
        f.message.contains("measured with pgstatindex"),
        "{}",
        f.message
    );
    assert!(!report.withheld.iter().any(|w| w.check == "index-bloat"));
    let created = index_bloat(&report, "public.events_created_at_idx").expect("the second index");
    assert_eq!(created.evidence["method"], "pgstatindex");

    // The fix applied: measured again, nothing left.
    setup(&mut client, f.fix_sql.as_deref().unwrap());
    let report = run(&mut client);
    assert!(
        index_bloat(&report, "public.events_pkey").is_none(),
        "{:#?}",
        report.findings
    );
    assert!(index_bloat(&report, "public.events_created_at_idx").is_some());
}

#[test]
fn a_compact_index_measured_with_pgstatindex_is_not_reported() {
    let (_cluster, mut client) = start();
    setup(
        &mut client,
        "create extension pgstattuple;
         create table readings (id bigint primary key, sensor int not null, value float8);
         insert into readings select g, g % 50, random() from generate_series(1, 100000) g;
         analyze readings;",
    );
    let report = run(&mut client);
    assert!(
        !report.findings.iter().any(|f| f.check == "index-bloat"),
        "{:#?}",
        report.findings
    );
}

#[test]
fn without_pgstattuple_fresh_statistics_give_the_estimate() {
    let (_cluster, mut client) = start();
    setup(&mut client, PURGED);
    setup(&mut client, "analyze events");
    let report = run(&mut client);
    let f = index_bloat(&report, "public.events_pkey")
        .unwrap_or_else(|| panic!("{:#?} {:#?}", report.findings, report.withheld));
    assert_eq!(f.evidence["method"], "estimate from pg_stats");
    assert!(f.evidence["wasted_share"].as_f64().unwrap() > 0.7, "{f:#?}");
}
