//! On PostgreSQL 16+, parameterised statements are explained with `EXPLAIN (GENERIC_PLAN)`
//! (15 prepares them under `plan_cache_mode = force_generic_plan`, the other tests).

use dbsage_cluster::{Cluster, ClusterOptions, PgInstall};
use dbsage_tune::{explain, queries};

#[test]
fn postgres_17_explains_and_tunes_parameterised_statements_with_generic_plans() {
    PgInstall::find_major(Some(17)).expect(
        "PostgreSQL 17 is needed for this test (`dbsage pg install 17`; ./x test installs it)",
    );
    let cluster = Cluster::start_with(&ClusterOptions {
        settings: vec![(
            "shared_preload_libraries".into(),
            "pg_stat_statements".into(),
        )],
        major: Some(17),
    })
    .unwrap();
    let mut client = cluster.connect("postgres").unwrap();
    assert!(queries::plan::server_version(&mut client).unwrap() >= 170000);
    client
        .batch_execute(concat!(
            include_str!("../fixtures/queries/shop_schema.sql"),
            include_str!("../fixtures/queries/shop_data.sql"),
            "CREATE EXTENSION pg_stat_statements; SELECT pg_stat_statements_reset();"
        ))
        .unwrap();

    let e = explain::explain(
        &mut client,
        "SELECT id FROM orders WHERE customer_id = $1",
        false,
    )
    .unwrap();
    let checks: Vec<&str> = e.insights.iter().map(|f| f.check.as_str()).collect();
    assert_eq!(
        checks,
        vec!["seq-scan-selective-filter"],
        "{}",
        e.plan.render()
    );

    for i in 0..30i64 {
        client
            .query(
                "SELECT id, total_cents FROM orders WHERE customer_id = $1",
                &[&(i * 13)],
            )
            .unwrap();
    }
    let report = queries::analyse(&mut client, &queries::Options::default()).unwrap();
    assert_eq!(report.findings.len(), 1, "{:#?}", report.statements);
    assert_eq!(
        report.findings[0].evidence["index"]["columns"],
        serde_json::json!(["customer_id"])
    );
}
