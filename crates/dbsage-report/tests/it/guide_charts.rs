//! The chart figures on a real server: table sizes, index scans, and each statement's share of
//! the total time from pg_stat_statements (preloaded on this cluster), rendered as SVG.

use dbsage_cluster::{Cluster, ClusterOptions};
use dbsage_report::{charts, svg};

#[test]
fn charts_read_sizes_index_scans_and_query_time_share() {
    let cluster = Cluster::start_with(&ClusterOptions {
        settings: vec![(
            "shared_preload_libraries".into(),
            "pg_stat_statements".into(),
        )],
        ..Default::default()
    })
    .unwrap();
    let mut client = cluster.connect("postgres").unwrap();
    client
        .batch_execute(
            "CREATE EXTENSION pg_stat_statements;
             CREATE TABLE orders (id bigint PRIMARY KEY, customer bigint NOT NULL, total_cents bigint NOT NULL);
             INSERT INTO orders SELECT g, g % 500, g * 7 FROM generate_series(1, 50000) g;
             CREATE TABLE customers (id bigint PRIMARY KEY, email text NOT NULL);
             INSERT INTO customers SELECT g, 'c' || g || '@example.test' FROM generate_series(1, 500) g;",
        )
        .unwrap();
    for id in 1..=20_i64 {
        client
            .query("SELECT * FROM orders WHERE id = $1", &[&id])
            .unwrap();
    }
    client
        .query(
            "SELECT customer, sum(total_cents) FROM orders GROUP BY customer",
            &[],
        )
        .unwrap();

    // Counters reach the shared statistics when the session goes idle; make it the next time.
    client
        .batch_execute("SELECT pg_stat_force_next_flush()")
        .unwrap();
    client.batch_execute("SELECT 1").unwrap();
    let (charts, notes) = charts::read(&mut client);
    assert!(notes.is_empty(), "{notes:?}");
    let chart = |id: &str| {
        charts
            .iter()
            .find(|c| c.id == id)
            .unwrap_or_else(|| panic!("no {id}"))
    };

    let sizes = chart("table-sizes");
    assert_eq!(
        sizes.bars[0].label, "public.orders",
        "largest first: {sizes:?}"
    );
    assert!(sizes.bars[0].value > sizes.bars[1].value);
    assert_eq!(sizes.unit, "kB");

    let scans = chart("index-usage");
    let orders_pkey = scans
        .bars
        .iter()
        .find(|b| b.label == "public.orders_pkey")
        .unwrap();
    assert!(orders_pkey.value >= 20.0, "{scans:?}");

    let share = chart("query-time");
    let total: f64 = share.bars.iter().map(|b| b.value).sum();
    assert!(total > 0.0 && total <= 100.5, "{share:?}");
    assert!(
        share.bars.iter().any(|b| b.label.contains("FROM orders")),
        "{share:?}"
    );

    let drawn = svg::bar_chart(share).unwrap();
    assert!(drawn.starts_with("<svg") && drawn.matches("<rect").count() == share.bars.len());
}
