//! `tune queries` on real clusters with pg_stat_statements preloaded and a workload run through
//! the driver (so statements reach pg_stat_statements parameterised, as applications send them).

use dbsage_cluster::{Cluster, ClusterOptions};
use dbsage_tune::queries::{self, costing::CostedWith, Options};
use postgres::Client;

const SHOP: &str = concat!(
    include_str!("../fixtures/queries/shop_schema.sql"),
    include_str!("../fixtures/queries/shop_data.sql")
);

fn cluster_with_pg_stat_statements() -> Cluster {
    Cluster::start_with(&ClusterOptions {
        settings: vec![(
            "shared_preload_libraries".into(),
            "pg_stat_statements".into(),
        )],
        ..Default::default()
    })
    .expect("starting a cluster with pg_stat_statements")
}

/// The shop, with pg_stat_statements created (and hypopg when asked), statistics reset.
fn shop(cluster: &Cluster, hypopg: bool) -> Client {
    let mut client = cluster.connect("postgres").unwrap();
    client.batch_execute(SHOP).unwrap();
    client
        .batch_execute("CREATE EXTENSION pg_stat_statements")
        .unwrap();
    if hypopg {
        client.batch_execute("CREATE EXTENSION hypopg").unwrap();
    }
    client
        .batch_execute("SELECT pg_stat_statements_reset()")
        .unwrap();
    client
}

/// An order history page: the customer's orders, looked up 40 times with different ids.
fn run_customer_lookups(client: &mut Client) {
    for i in 0..40i64 {
        client
            .query(
                "SELECT id, status, total_cents FROM orders WHERE customer_id = $1",
                &[&(1 + i * 97)],
            )
            .unwrap();
    }
}

fn options(prove: bool) -> Options {
    Options {
        prove,
        ..Options::default()
    }
}

#[test]
fn hypopg_costs_a_parameterised_lookup_and_the_proof_times_it() {
    let cluster = cluster_with_pg_stat_statements();
    let mut client = shop(&cluster, true);
    run_customer_lookups(&mut client);

    let report = queries::analyse(&mut client, &options(true)).unwrap();

    assert_eq!(report.costed_with, CostedWith::Hypopg);
    let lookup = report
        .statements
        .iter()
        .find(|s| s.statement.query.contains("customer_id = $1"))
        .expect("the lookup is in the workload");
    assert_eq!(lookup.statement.calls, 40);
    assert_eq!(lookup.verdict, "index proposed");
    assert_eq!(report.findings.len(), 1, "{:#?}", report.findings);
    let finding = &report.findings[0];
    assert_eq!(finding.check, "missing-index");
    assert_eq!(finding.object, "table public.orders");
    assert_eq!(
        finding.fix_sql.as_deref(),
        Some("CREATE INDEX CONCURRENTLY IF NOT EXISTS orders_customer_id_idx ON public.orders (customer_id);")
    );
    let e = &finding.evidence;
    assert_eq!(e["costed_with"], "hypopg");
    assert!(e["cost_after"].as_f64().unwrap() <= e["cost_before"].as_f64().unwrap() * 0.5);
    let proof = &e["proof"];
    assert_eq!(proof["sample_rows"], 100_000);
    assert_eq!(proof["parameters"].as_array().unwrap().len(), 1);
    assert!(proof["speedup"].as_f64().unwrap() >= 10.0, "{proof}");
    assert_eq!(proof["inserted_rows"], 1000);
    assert!(proof["insert_after_ms"].as_f64().unwrap() > 0.0);
    // Nothing was built on the source database: hypopg's indexes are hypothetical.
    let built: i64 = client
        .query_one(
            "SELECT count(*) FROM pg_indexes WHERE tablename = 'orders' AND indexdef LIKE '%customer_id%'",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(built, 0);
}

#[test]
fn without_hypopg_a_throwaway_copy_costs_a_partial_index() {
    let cluster = cluster_with_pg_stat_statements();
    let mut client = shop(&cluster, false);
    // The shipping queue: unshipped orders, oldest first.
    for _ in 0..20 {
        client
            .query(
                "SELECT id, customer_id FROM orders WHERE shipped_at IS NULL ORDER BY created_at LIMIT 50",
                &[],
            )
            .unwrap();
    }

    let report = queries::analyse(&mut client, &options(false)).unwrap();

    assert_eq!(report.costed_with, CostedWith::ThrowawayCopy);
    assert_eq!(report.findings.len(), 1, "{:#?}", report.statements);
    let finding = &report.findings[0];
    assert_eq!(finding.evidence["costed_with"], "throwaway-copy");
    assert_eq!(
        finding.evidence["index"]["predicate"], "shipped_at IS NULL",
        "{}",
        finding.message
    );
    assert!(finding.evidence.get("proof").is_none());
}

#[test]
fn an_indexed_workload_gets_no_finding() {
    let cluster = cluster_with_pg_stat_statements();
    let mut client = shop(&cluster, true);
    client
        .batch_execute("CREATE INDEX orders_by_customer ON orders (customer_id)")
        .unwrap();
    run_customer_lookups(&mut client);

    let report = queries::analyse(
        &mut client,
        &Options {
            min_mean_ms: 0.0,
            ..options(false)
        },
    )
    .unwrap();

    assert!(report.findings.is_empty(), "{:#?}", report.findings);
    let lookup = report
        .statements
        .iter()
        .find(|s| s.statement.query.contains("customer_id = $1"))
        .unwrap();
    assert_eq!(lookup.verdict, "already indexed");
}

#[test]
fn without_pg_stat_statements_it_says_how_to_enable_it() {
    let cluster = Cluster::start().unwrap();
    let mut client = cluster.connect("postgres").unwrap();

    let report = queries::analyse(&mut client, &options(false)).unwrap();

    assert_eq!(
        report.unavailable.as_deref(),
        Some("the pg_stat_statements extension is not created in this database")
    );
    let enable = report.enable.unwrap();
    assert!(enable.contains("shared_preload_libraries = 'pg_stat_statements'"));
    assert!(enable.contains("CREATE EXTENSION pg_stat_statements"));
    assert!(enable.contains("Supabase"));

    // Created but not preloaded: the server's own words, then the same paragraph.
    client
        .batch_execute("CREATE EXTENSION pg_stat_statements")
        .unwrap();
    let report = queries::analyse(&mut client, &options(false)).unwrap();
    let reason = report.unavailable.unwrap();
    assert!(reason.contains("shared_preload_libraries"), "{reason}");
    assert!(report.enable.is_some());
}
