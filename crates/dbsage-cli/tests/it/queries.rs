//! `dbsage tune queries` end to end: a shop whose schema is a migration, 100,000 orders, a
//! workload of two slow statements sent by the driver, pg_stat_statements preloaded.

use crate::common;

use common::{stderr, stdout, TestProject};
use dbsage_cluster::{Cluster, ClusterOptions};
use postgres::Client;

const SCHEMA: &str = include_str!("../../../dbsage-tune/tests/fixtures/queries/shop_schema.sql");
const DATA: &str = include_str!("../../../dbsage-tune/tests/fixtures/queries/shop_data.sql");

const CUSTOMER_ORDERS: &str = "SELECT id, status, total_cents FROM orders WHERE customer_id = $1";
const SHIPPING_QUEUE: &str =
    "SELECT id, customer_id FROM orders WHERE shipped_at IS NULL ORDER BY created_at LIMIT 50";

/// A project on a cluster with pg_stat_statements preloaded, its schema migrated by dbsage,
/// its data loaded and pg_stat_statements created (hypopg is not: the planner runs on a copy).
fn shop_project() -> TestProject {
    let cluster = Cluster::start_with(&ClusterOptions {
        settings: vec![(
            "shared_preload_libraries".into(),
            "pg_stat_statements".into(),
        )],
        ..Default::default()
    })
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("migrations")).unwrap();
    std::fs::write(
        dir.path().join("dbsage.toml"),
        format!(
            "[migrate]\ndefault_environment = \"test\"\n\n[environments.test]\nurl = \"{}\"\n",
            cluster.url("postgres")
        ),
    )
    .unwrap();
    let project = TestProject { dir, cluster };
    project.migration("20260101000000", "shop", SCHEMA);
    let migrated = project.run(&["migrate"]);
    assert!(migrated.status.success(), "{}", stderr(&migrated));
    let mut client = project.client();
    client.batch_execute(DATA).unwrap();
    client
        .batch_execute("CREATE EXTENSION pg_stat_statements; SELECT pg_stat_statements_reset()")
        .unwrap();
    project
}

fn run_workload(client: &mut Client) {
    for i in 0..40i64 {
        client.query(CUSTOMER_ORDERS, &[&(1 + i * 97)]).unwrap();
    }
    for _ in 0..20 {
        client.query(SHIPPING_QUEUE, &[]).unwrap();
    }
}

/// The median execution time (ms) of `sql` over 7 runs, as the server measures it.
fn median_ms(client: &mut Client, sql: &str) -> f64 {
    let mut times: Vec<f64> = (0..7)
        .map(|_| {
            let text = client
                .simple_query(&format!("EXPLAIN (ANALYZE, TIMING OFF, FORMAT JSON) {sql}"))
                .unwrap()
                .into_iter()
                .find_map(|m| match m {
                    postgres::SimpleQueryMessage::Row(row) => row.get(0).map(str::to_string),
                    _ => None,
                })
                .unwrap();
            let plan: serde_json::Value = serde_json::from_str(&text).unwrap();
            plan[0]["Execution Time"].as_f64().unwrap()
        })
        .collect();
    times.sort_by(f64::total_cmp);
    times[3]
}

fn timings(client: &mut Client) -> [f64; 2] {
    [
        median_ms(client, &CUSTOMER_ORDERS.replace("$1", "4463")),
        median_ms(client, SHIPPING_QUEUE),
    ]
}

#[test]
fn prove_and_write_make_the_slow_queries_ten_times_faster_then_nothing_is_left() {
    let project = shop_project();
    let mut client = project.client();
    run_workload(&mut client);
    let before = timings(&mut client);

    let (report, code) = project.json(&[
        "tune",
        "queries",
        "--prove",
        "--write",
        "add_workload_indexes",
    ]);
    // Indexes proposed: exit 1, as `tune` with something to fix.
    assert_eq!(code, 1, "{report:#}");
    assert_eq!(report["costed_with"], "throwaway-copy");
    let findings = report["findings"].as_array().unwrap();
    assert_eq!(findings.len(), 2, "{report:#}");
    for finding in findings {
        assert_eq!(finding["check"], "missing-index");
        let proof = &finding["evidence"]["proof"];
        assert!(proof["speedup"].as_f64().unwrap() >= 10.0, "{proof}");
        assert!(proof["write_overhead_percent"].is_number(), "{proof}");
    }
    let written = report["written"].as_str().unwrap();
    let migration = std::fs::read_to_string(project.root().join(written)).unwrap();
    assert!(
        migration.starts_with("-- dbsage:no-transaction\n"),
        "{migration}"
    );
    assert!(migration.contains(
        "CREATE INDEX CONCURRENTLY IF NOT EXISTS orders_customer_id_idx ON public.orders (customer_id);"
    ));
    assert!(
        migration.contains("WHERE shipped_at IS NULL;"),
        "{migration}"
    );

    let lint = project.run(&["lint"]);
    assert!(lint.status.success(), "{}{}", stdout(&lint), stderr(&lint));
    let local = project.run(&["migrate", "--local"]);
    assert!(
        local.status.success(),
        "{}{}",
        stdout(&local),
        stderr(&local)
    );
    let applied = project.run(&["migrate"]);
    assert!(applied.status.success(), "{}", stderr(&applied));

    let after = timings(&mut client);
    println!("medians before {before:?} ms, after {after:?} ms");
    for finding in findings {
        println!("{}", finding["message"]);
    }
    for (b, a) in before.iter().zip(after) {
        assert!(b / a >= 10.0, "before {before:?} ms, after {after:?} ms");
    }

    run_workload(&mut client);
    let (again, code) = project.json(&["tune", "queries"]);
    assert_eq!(code, 0);
    assert_eq!(again["findings"], serde_json::json!([]), "{again:#}");
    let verdicts: Vec<&str> = again["statements"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["query"].as_str().unwrap().contains("FROM orders"))
        .map(|s| s["verdict"].as_str().unwrap())
        .collect();
    assert_eq!(verdicts.len(), 2, "{again:#}");
}

#[test]
fn without_pg_stat_statements_the_human_report_says_how_to_enable_it() {
    let project = TestProject::new();
    let out = project.run(&["tune", "queries"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.starts_with("the pg_stat_statements extension is not created in this database\n"),
        "{text}"
    );
    assert!(text.contains("shared_preload_libraries = 'pg_stat_statements'"));
}

/// The shop on a plain project (no pg_stat_statements needed to explain).
fn shop_explained(extra_config: &str) -> TestProject {
    let project = TestProject::with_config(extra_config);
    project
        .client()
        .batch_execute(&format!("{SCHEMA}{DATA}"))
        .unwrap();
    project
}

#[test]
fn explain_analyze_renders_the_tree_and_its_insight() {
    let project = shop_explained("");
    let out = project.run(&[
        "explain",
        "--analyze",
        "SELECT id, total_cents FROM orders WHERE customer_id = 42",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.starts_with("note: --analyze ran inside a transaction that was rolled back\n"),
        "{text}"
    );
    assert!(text.contains("Seq Scan on public.orders  (cost="), "{text}");
    assert!(text.contains("(actual "), "{text}");
    assert!(text.contains("◀ costly"), "{text}");
    assert!(text.contains("warning[seq-scan-selective-filter] Seq Scan on public.orders: reads all 100000 rows to keep 20"), "{text}");
    assert!(text.contains("CREATE INDEX CONCURRENTLY IF NOT EXISTS orders_customer_id_idx ON public.orders (customer_id);"), "{text}");

    let (json, code) = project.json(&["explain", "SELECT email FROM customers WHERE id = 42"]);
    assert_eq!(code, 0);
    let plan = &json["plans"][0];
    assert_eq!(plan["analyzed"], false);
    assert_eq!(plan["plan"]["node_type"], "Index Scan");
    assert_eq!(plan["insights"], serde_json::json!([]));
    assert_eq!(json["speedup"], serde_json::Value::Null);
}

#[test]
fn explain_compare_puts_two_plans_side_by_side() {
    let project = shop_explained("");
    let slow = "SELECT id FROM orders WHERE customer_id = 42 ORDER BY id";
    let fast = "SELECT id FROM orders WHERE id = 42";
    let out = project.run(&["explain", "--analyze", slow, "--compare", fast]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains(&format!("A: {slow}")), "{text}");
    assert!(text.contains(&format!("B: {fast}")), "{text}");
    assert!(text.contains("execution ms"), "{text}");
    assert!(text.contains("B is "), "{text}");

    let (json, code) = project.json(&["explain", "--analyze", slow, "--compare", fast]);
    assert_eq!(code, 0);
    assert_eq!(json["plans"].as_array().unwrap().len(), 2);
    assert!(json["speedup"].as_f64().unwrap() > 10.0, "{json:#}");
}

#[test]
fn explain_analyze_of_a_write_from_a_file_is_rolled_back_and_refused_when_protected() {
    let project = shop_explained("");
    let file = project.root().join("reprice.sql");
    std::fs::write(
        &file,
        "UPDATE orders SET total_cents = 0 WHERE customer_id = 7;\n",
    )
    .unwrap();
    let out = project.run(&["explain", "--analyze", "-f", "reprice.sql"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).starts_with(
        "note: --analyze it writes: ran inside a transaction that was rolled back, nothing was kept\n"
    ));
    let zeroed: i64 = project
        .client()
        .query_one("SELECT count(*) FROM orders WHERE total_cents = 0", &[])
        .unwrap()
        .get(0);
    assert_eq!(zeroed, 0);

    let protected = shop_explained("protected = true\n");
    let file = protected.root().join("reprice.sql");
    std::fs::write(
        &file,
        "UPDATE orders SET total_cents = 0 WHERE customer_id = 7;\n",
    )
    .unwrap();
    let refused = protected.run(&["explain", "--analyze", "-f", "reprice.sql"]);
    assert_eq!(refused.status.code(), Some(3), "{}", stderr(&refused));
    assert!(
        stderr(&refused).contains("--analyze would run a write"),
        "{}",
        stderr(&refused)
    );
    // A statement that does not parse is located in its file (exit 2).
    std::fs::write(&file, "SELECT id\nFROM orders\nWHER customer_id = 7;\n").unwrap();
    let bad = protected.run(&["explain", "-f", "reprice.sql"]);
    assert_eq!(bad.status.code(), Some(2), "{}", stderr(&bad));
    assert!(stderr(&bad).contains("reprice.sql:3:"), "{}", stderr(&bad));
    // Reading is fine there.
    let read = protected.run(&["explain", "--analyze", "SELECT count(*) FROM orders"]);
    assert!(read.status.success(), "{}", stderr(&read));
}

#[test]
fn the_dev_database_preloads_pg_stat_statements_for_tune_queries() {
    let project = TestProject::new();
    let (report, code) = project.json(&["tune", "queries", "--env", "dev"]);
    // psql on dev keeps the preload (it used to restart the server without the settings).
    let psql = project.run(&[
        "psql",
        "--env",
        "dev",
        "-c",
        "SELECT count(*) > 0 FROM pg_stat_statements",
    ]);
    let stop = project.run(&["dev", "stop"]);
    assert!(psql.status.success(), "{}", stderr(&psql));
    assert!(stdout(&psql).contains(" t\n"), "{}", stdout(&psql));
    assert_eq!(code, 0, "{report:#}");
    assert!(stop.status.success(), "{}", stderr(&stop));
    assert_eq!(report["unavailable"], serde_json::Value::Null, "{report:#}");
    assert!(report["statements"].is_array());
}
