//! `explain`'s insights, each planted in the shop (5,000 customers, 100,000 orders) and found,
//! and a healthy query that gets none.

use dbsage_cluster::{Cluster, ClusterOptions};
use dbsage_tune::explain::{self, Explained};
use postgres::Client;

const SHOP: &str = concat!(
    include_str!("../fixtures/queries/shop_schema.sql"),
    include_str!("../fixtures/queries/shop_data.sql")
);

fn shop_on(cluster: &Cluster) -> Client {
    let mut client = cluster.connect("postgres").unwrap();
    client.batch_execute(SHOP).unwrap();
    client
}

fn checks(e: &Explained) -> Vec<&str> {
    e.insights.iter().map(|f| f.check.as_str()).collect()
}

fn only(e: &Explained, check: &str) {
    assert_eq!(
        checks(e),
        vec![check],
        "{}\n{:#?}",
        e.plan.render(),
        e.insights
    );
}

#[test]
fn a_selective_seq_scan_gets_a_hypopg_costed_index() {
    let cluster = Cluster::start().unwrap();
    let mut client = shop_on(&cluster);
    client.batch_execute("CREATE EXTENSION hypopg").unwrap();

    let e = explain::explain(
        &mut client,
        "SELECT id, total_cents FROM orders WHERE customer_id = 42",
        true,
    )
    .unwrap();

    only(&e, "seq-scan-selective-filter");
    let f = &e.insights[0];
    assert_eq!(f.object, "Seq Scan on public.orders");
    assert_eq!(f.evidence["costed_with"], "hypopg");
    assert!(
        f.evidence["cost_after"].as_f64().unwrap()
            < f.evidence["cost_before"].as_f64().unwrap() * 0.5
    );
    assert_eq!(
        f.fix_sql.as_deref(),
        Some("CREATE INDEX CONCURRENTLY IF NOT EXISTS orders_customer_id_idx ON public.orders (customer_id);")
    );
    assert!(
        e.plan.costly,
        "the scan is the whole plan: {}",
        e.plan.render()
    );
    assert!(e.plan.render().contains("◀ costly"));
    assert!(e.execution_ms.is_some());
}

#[test]
fn without_hypopg_the_candidate_is_named_and_said_uncosted() {
    let cluster = Cluster::start().unwrap();
    let mut client = shop_on(&cluster);
    // A parameterised statement: a generic plan, not run.
    let e = explain::explain(
        &mut client,
        "SELECT id FROM orders WHERE customer_id = $1",
        false,
    )
    .unwrap();
    only(&e, "seq-scan-selective-filter");
    assert!(
        e.insights[0].message.contains("not costed: hypopg"),
        "{}",
        e.insights[0].message
    );
    assert!(e.execution_ms.is_none());
    assert!(explain::explain(
        &mut client,
        "SELECT id FROM orders WHERE customer_id = $1",
        true
    )
    .unwrap_err()
    .to_string()
    .contains("--analyze needs values"));
}

#[test]
fn correlated_filters_are_a_misestimate() {
    let cluster = Cluster::start().unwrap();
    let mut client = shop_on(&cluster);
    client
        .batch_execute("SET max_parallel_workers_per_gather = 0")
        .unwrap();
    // Every pending order is unshipped: the planner multiplies 1 % by 1 %.
    let e = explain::explain(
        &mut client,
        "SELECT count(*) FROM orders WHERE status = 'pending' AND shipped_at IS NULL",
        true,
    )
    .unwrap();
    assert!(
        checks(&e).contains(&"mis-estimate"),
        "{}\n{:#?}",
        e.plan.render(),
        e.insights
    );
    // Reported where the wrong count starts, not again on every node above it.
    let misestimates: Vec<_> = e
        .insights
        .iter()
        .filter(|f| f.check == "mis-estimate")
        .collect();
    assert_eq!(misestimates.len(), 1, "{:#?}", e.insights);
    let f = misestimates[0];
    assert_eq!(f.object, "Seq Scan on public.orders");
    assert_eq!(f.evidence["actual_rows"], 1000.0);
    // Without hypopg, the candidate is the one covering what the filter names.
    let scan = e
        .insights
        .iter()
        .find(|f| f.check == "seq-scan-selective-filter")
        .unwrap();
    let index = &scan.evidence["index"];
    assert!(
        index["columns"] == serde_json::json!(["status"])
            && index["predicate"] == "shipped_at IS NULL"
            || index["columns"] == serde_json::json!(["shipped_at"])
                && index["predicate"] == "status = 'pending'",
        "{index}"
    );
    assert!(f.fix_sql.as_deref().unwrap().contains("CREATE STATISTICS"));
}

#[test]
fn a_filter_throwing_most_rows_away_on_a_small_table() {
    let cluster = Cluster::start().unwrap();
    let mut client = shop_on(&cluster);
    let e = explain::explain(
        &mut client,
        "SELECT id FROM customers WHERE email LIKE '%42@%'",
        true,
    )
    .unwrap();
    only(&e, "rows-removed-by-filter");
}

#[test]
fn sorts_and_hashes_over_work_mem_spill() {
    let cluster = Cluster::start().unwrap();
    let mut client = shop_on(&cluster);
    client
        .batch_execute("SET work_mem = '64kB'; SET max_parallel_workers_per_gather = 0")
        .unwrap();
    let sort = explain::explain(
        &mut client,
        "SELECT * FROM orders ORDER BY total_cents",
        true,
    )
    .unwrap();
    only(&sort, "disk-sort");
    client
        .batch_execute("SET enable_mergejoin = off; SET enable_nestloop = off")
        .unwrap();
    let hash = explain::explain(
        &mut client,
        "SELECT c.region, o.total_cents FROM orders o JOIN customers c ON c.id = o.customer_id",
        true,
    )
    .unwrap();
    only(&hash, "hash-spill");
}

#[test]
fn a_bitmap_over_work_mem_goes_lossy() {
    let cluster = Cluster::start().unwrap();
    let mut client = shop_on(&cluster);
    // An event log with payloads: 100,000 rows over ~3,000 pages, a bitmap over half of them.
    client
        .batch_execute(
            "CREATE TABLE events AS SELECT g AS id, g % 100 AS kind, repeat('x', 200) AS payload \
             FROM generate_series(1, 100000) AS g; \
             CREATE INDEX events_by_kind ON events (kind); ANALYZE events; \
             SET work_mem = '64kB'; SET enable_seqscan = off; SET enable_indexscan = off; \
             SET max_parallel_workers_per_gather = 0",
        )
        .unwrap();
    let e = explain::explain(
        &mut client,
        "SELECT count(payload) FROM events WHERE kind < 50",
        true,
    )
    .unwrap();
    assert!(
        checks(&e).contains(&"lossy-bitmap"),
        "{}\n{:#?}",
        e.plan.render(),
        e.insights
    );
}

#[test]
fn a_nested_loop_over_every_order() {
    let cluster = Cluster::start().unwrap();
    let mut client = shop_on(&cluster);
    client
        .batch_execute(
            "SET enable_hashjoin = off; SET enable_mergejoin = off; SET max_parallel_workers_per_gather = 0",
        )
        .unwrap();
    let e = explain::explain(
        &mut client,
        "SELECT c.region, o.total_cents FROM orders o JOIN customers c ON c.id = o.customer_id",
        true,
    )
    .unwrap();
    only(&e, "nested-loop-large-outer");
    assert_eq!(e.insights[0].evidence["outer_rows"], 100_000.0);
}

#[test]
fn a_deep_page_is_a_large_offset() {
    let cluster = Cluster::start().unwrap();
    let mut client = shop_on(&cluster);
    let e = explain::explain(
        &mut client,
        "SELECT id, total_cents FROM orders ORDER BY id LIMIT 20 OFFSET 50000",
        true,
    )
    .unwrap();
    only(&e, "large-offset");
    assert_eq!(e.insights[0].object, "Limit");
}

#[test]
fn data_outside_shared_buffers_is_disk_reads() {
    // 128 kB of shared buffers: a scan of the 8 MB orders table reads from outside them.
    let cluster = Cluster::start_with(&ClusterOptions {
        settings: vec![("shared_buffers".into(), "128kB".into())],
        ..Default::default()
    })
    .unwrap();
    let mut client = shop_on(&cluster);
    client
        .batch_execute("SET max_parallel_workers_per_gather = 0")
        .unwrap();
    let e = explain::explain(&mut client, "SELECT sum(total_cents) FROM orders", true).unwrap();
    only(&e, "disk-reads");
    assert!(
        e.insights[0].evidence["shared_read_blocks"]
            .as_i64()
            .unwrap()
            >= 500
    );
}

#[test]
fn a_healthy_lookup_and_a_rolled_back_write_get_no_insight() {
    let cluster = Cluster::start().unwrap();
    let mut client = shop_on(&cluster);
    let e = explain::explain(
        &mut client,
        "SELECT email FROM customers WHERE id = 42",
        true,
    )
    .unwrap();
    assert!(e.insights.is_empty(), "{:#?}", e.insights);
    assert!(!e.writes);

    let w = explain::explain(
        &mut client,
        "UPDATE customers SET region = 'mars' WHERE id = 42",
        true,
    )
    .unwrap();
    assert!(w.writes && w.rolled_back && w.analyzed);
    assert!(w.insights.is_empty(), "{:#?}", w.insights);
    let region: String = client
        .query_one("SELECT region FROM customers WHERE id = 42", &[])
        .unwrap()
        .get(0);
    assert_ne!(region, "mars", "the explained write was rolled back");
}
