//! `dbsage health`'s checks on real throwaway clusters: each problem planted for real (a lock
//! chain, an idle transaction, a long query, a sequence near its end, an invalid index, dead
//! rows, an unused slot, a failing archiver), a role without pg_monitor, and a healthy
//! database where nothing is flagged.

use std::collections::BTreeSet;
use std::thread;
use std::time::{Duration, Instant};

use dbsage_catalog::finding::Finding;
use dbsage_cluster::{Cluster, ClusterOptions};
use dbsage_tune::health::{self, CheckReport, HealthConfig, HealthReport, Status};
use postgres::{Client, NoTls};

/// A small shop schema with data, as a healthy app database would be.
const SHOP: &str = "
CREATE TABLE customers (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, email text NOT NULL UNIQUE);
CREATE TABLE orders (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  customer_id bigint NOT NULL REFERENCES customers (id),
  total numeric(10,2) NOT NULL,
  placed_at timestamptz NOT NULL DEFAULT now());
CREATE INDEX orders_customer_id_idx ON orders (customer_id);
INSERT INTO customers (email) SELECT 'c' || g || '@example.com' FROM generate_series(1, 500) g;
INSERT INTO orders (customer_id, total) SELECT 1 + g % 500, g % 97 FROM generate_series(1, 5000) g;
ANALYZE;
";

fn config(toml_text: &str) -> HealthConfig {
    let value: toml::Value = toml::from_str(toml_text).expect("valid TOML");
    HealthConfig::from_toml(Some(&value)).expect("valid [health]")
}

fn run(client: &mut Client, config: &HealthConfig) -> HealthReport {
    health::run(client, config, None).expect("health runs")
}

fn check<'a>(report: &'a HealthReport, name: &str) -> &'a CheckReport {
    report
        .checks
        .iter()
        .find(|c| c.check == name)
        .unwrap_or_else(|| panic!("no check {name}"))
}

fn findings<'a>(report: &'a HealthReport, check_id: &str) -> Vec<&'a Finding> {
    report
        .checks
        .iter()
        .flat_map(|c| &c.findings)
        .filter(|f| f.check == check_id)
        .collect()
}

fn pid(client: &mut Client) -> i32 {
    client
        .query_one("SELECT pg_backend_pid()", &[])
        .unwrap()
        .get(0)
}

/// Waits until `pid` waits for a lock (bounded).
fn wait_until_blocked(observer: &mut Client, pid: i32) {
    let start = Instant::now();
    loop {
        let waiting: bool = observer
            .query_one(
                "SELECT coalesce(wait_event_type = 'Lock', false) FROM pg_stat_activity WHERE pid = $1",
                &[&pid],
            )
            .map(|r| r.get(0))
            .unwrap_or(false);
        if waiting {
            return;
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "session {pid} never blocked"
        );
        thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_healthy_database_is_ok_with_nothing_flagged() {
    let cluster = Cluster::start().unwrap();
    let mut client = cluster.connect("postgres").unwrap();
    client.batch_execute(SHOP).unwrap();
    let report = run(&mut client, &HealthConfig::default());
    let flagged: Vec<_> = report
        .checks
        .iter()
        .filter(|c| c.status != Status::Ok || !c.findings.is_empty())
        .map(|c| format!("{}: {} {}", c.check, c.status, c.message))
        .collect();
    assert!(
        flagged.is_empty(),
        "flagged on a healthy database: {flagged:#?}"
    );
    assert_eq!(report.status, Status::Ok);
    assert_eq!(report.exit_code, 0);
    assert_eq!(report.checks.len(), health::CHECKS.len());
    // The figures behind "ok" are real: the size is the server's.
    let size: i64 = client
        .query_one("SELECT pg_database_size(current_database())", &[])
        .unwrap()
        .get(0);
    let reported = check(&report, "database_size").metrics[0].value;
    assert!(
        (reported - size as f64).abs() < 1_000_000.0,
        "{reported} vs {size}"
    );
}

#[test]
fn a_lock_chain_with_several_blockers_names_every_blocker_and_the_heads() {
    let cluster = Cluster::start().unwrap();
    let mut observer = cluster.connect("postgres").unwrap();
    observer.batch_execute(SHOP).unwrap();
    // Two readers hold ACCESS SHARE; a migration wants ACCESS EXCLUSIVE (blocked by both); a
    // third reader queues behind the migration (blocked by it alone).
    let mut reader_a = cluster.connect("postgres").unwrap();
    let mut reader_b = cluster.connect("postgres").unwrap();
    let (pid_a, pid_b) = (pid(&mut reader_a), pid(&mut reader_b));
    for reader in [&mut reader_a, &mut reader_b] {
        reader.batch_execute("BEGIN").unwrap();
        reader.batch_execute("SELECT count(*) FROM orders").unwrap();
    }
    let mut migration = cluster.connect("postgres").unwrap();
    let pid_m = pid(&mut migration);
    let migration_thread = thread::spawn(move || {
        migration
            .batch_execute("ALTER TABLE orders ADD COLUMN note text")
            .unwrap();
    });
    wait_until_blocked(&mut observer, pid_m);
    let mut late = cluster.connect("postgres").unwrap();
    let pid_late = pid(&mut late);
    let late_thread = thread::spawn(move || {
        late.batch_execute("SELECT count(*) FROM orders").unwrap();
    });
    wait_until_blocked(&mut observer, pid_late);

    // With the defaults (10 s) a fresh wait is not yet a problem.
    let report = run(&mut observer, &HealthConfig::default());
    assert_eq!(check(&report, "blocking").status, Status::Ok);
    assert_eq!(check(&report, "blocking").metrics[0].value, 2.0);

    let report = run(
        &mut observer,
        &config("[blocking]\nwarning_seconds = 0\ncritical_seconds = 3600"),
    );
    assert_eq!(check(&report, "blocking").status, Status::Warning);
    let blocked = findings(&report, "blocked-session");
    assert_eq!(blocked.len(), 2, "{blocked:#?}");
    let of = |pid: i32| {
        blocked
            .iter()
            .find(|f| f.evidence["pid"] == pid)
            .unwrap_or_else(|| panic!("no finding for {pid}: {blocked:#?}"))
    };
    let pids = |v: &serde_json::Value| -> BTreeSet<i64> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_i64().unwrap())
            .collect()
    };
    let heads = BTreeSet::from([pid_a as i64, pid_b as i64]);
    let m = of(pid_m);
    let blockers: BTreeSet<i64> = m.evidence["blocked_by"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["pid"].as_i64().unwrap())
        .collect();
    assert_eq!(blockers, heads);
    assert!(m.evidence["query"]
        .as_str()
        .unwrap()
        .contains("ADD COLUMN note"));
    assert_eq!(
        m.evidence["blocked_by"][0]["query"].as_str().unwrap(),
        "SELECT count(*) FROM orders"
    );
    assert_eq!(pids(&m.evidence["chain_heads"]), heads);
    let l = of(pid_late);
    assert!(l.evidence["blocked_by"]
        .as_array()
        .unwrap()
        .iter()
        .any(|b| b["pid"] == pid_m));
    // The late reader's chain leads, through the migration, to both readers.
    assert_eq!(pids(&l.evidence["chain_heads"]), heads);
    let fix = l.fix_sql.as_deref().unwrap();
    assert!(
        fix.contains(&format!("pg_terminate_backend({pid_a})")),
        "{fix}"
    );
    assert!(
        fix.contains(&format!("pg_terminate_backend({pid_b})")),
        "{fix}"
    );
    assert!(
        !fix.contains(&format!("pg_terminate_backend({pid_m})")),
        "{fix}"
    );

    reader_a.batch_execute("COMMIT").unwrap();
    reader_b.batch_execute("COMMIT").unwrap();
    migration_thread.join().unwrap();
    late_thread.join().unwrap();
    let report = run(&mut observer, &config("[blocking]\nwarning_seconds = 0"));
    assert_eq!(check(&report, "blocking").status, Status::Ok);
}

#[test]
fn idle_in_transaction_is_flagged_past_its_threshold() {
    let cluster = Cluster::start().unwrap();
    let mut client = cluster.connect("postgres").unwrap();
    client.batch_execute(SHOP).unwrap();
    let mut idle = cluster.connect("postgres").unwrap();
    let idle_pid = pid(&mut idle);
    idle.batch_execute("BEGIN; UPDATE customers SET email = email WHERE id = 1")
        .unwrap();
    let report = run(&mut client, &HealthConfig::default());
    assert_eq!(check(&report, "idle_in_transaction").status, Status::Ok);
    thread::sleep(Duration::from_millis(1100));
    let report = run(
        &mut client,
        &config("[idle_in_transaction]\nwarning_seconds = 1\ncritical_seconds = 600"),
    );
    assert_eq!(
        check(&report, "idle_in_transaction").status,
        Status::Warning
    );
    let found = findings(&report, "idle-in-transaction");
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].evidence["pid"], idle_pid);
    assert!(found[0].evidence["last_query"]
        .as_str()
        .unwrap()
        .contains("UPDATE customers"));
    assert_eq!(report.exit_code, 1);
    let report = run(
        &mut client,
        &config("[idle_in_transaction]\nwarning_seconds = 0\ncritical_seconds = 1"),
    );
    assert_eq!(
        check(&report, "idle_in_transaction").status,
        Status::Critical
    );
    assert_eq!(report.exit_code, 2);
}

#[test]
fn a_long_query_is_flagged_with_its_text() {
    let cluster = Cluster::start().unwrap();
    let mut client = cluster.connect("postgres").unwrap();
    let mut sleeper = cluster.connect("postgres").unwrap();
    let sleeper_pid = pid(&mut sleeper);
    let handle = thread::spawn(move || {
        // Cancelled by the test below.
        let _ = sleeper.batch_execute("SELECT pg_sleep(60) /* nightly report */");
    });
    thread::sleep(Duration::from_millis(1500));
    let lowered = config("[long_running]\nwarning_seconds = 1\ncritical_seconds = 120");
    let report = run(&mut client, &lowered);
    let found = findings(&report, "long-running-query");
    assert_eq!(found.len(), 1, "{report:#?}");
    assert_eq!(found[0].evidence["pid"], sleeper_pid);
    assert!(found[0].message.contains("nightly report"));
    assert_eq!(check(&report, "long_running").status, Status::Warning);
    // The default 60 s threshold: not yet.
    assert_eq!(
        check(&run(&mut client, &HealthConfig::default()), "long_running").status,
        Status::Ok
    );
    client
        .execute("SELECT pg_cancel_backend($1)", &[&sleeper_pid])
        .unwrap();
    handle.join().unwrap();
    assert!(findings(&run(&mut client, &lowered), "long-running-query").is_empty());
}

#[test]
fn sequences_near_their_limit_are_warning_then_critical() {
    let cluster = Cluster::start().unwrap();
    let mut client = cluster.connect("postgres").unwrap();
    client.batch_execute(SHOP).unwrap();
    client
        .batch_execute(
            "CREATE SEQUENCE invoice_no AS integer;
             SELECT setval('invoice_no', 1932735283); -- 90 % of 2^31-1
             CREATE SEQUENCE ticket_no AS integer;
             SELECT setval('ticket_no', 2040109466); -- 95 %
             CREATE SEQUENCE ring_no AS integer CYCLE;
             SELECT setval('ring_no', 2147483000); -- cycles: never runs out",
        )
        .unwrap();
    let report = run(&mut client, &HealthConfig::default());
    let found = findings(&report, "sequence-near-limit");
    let by_object = |o: &str| found.iter().find(|f| f.object == o).copied();
    let invoice = by_object("sequence public.invoice_no").expect("invoice_no flagged");
    assert_eq!(invoice.severity, dbsage_catalog::finding::Severity::Warning);
    let ticket = by_object("sequence public.ticket_no").expect("ticket_no flagged");
    assert_eq!(ticket.severity, dbsage_catalog::finding::Severity::Error);
    assert!((ticket.evidence["percent"].as_f64().unwrap() - 95.0).abs() < 0.01);
    assert!(ticket
        .fix_sql
        .as_deref()
        .unwrap()
        .contains("ALTER SEQUENCE \"public\".\"ticket_no\" AS bigint"));
    assert!(by_object("sequence public.ring_no").is_none());
    assert_eq!(found.len(), 2);
    assert_eq!(check(&report, "sequences").status, Status::Critical);
    assert_eq!(report.exit_code, 2);
}

#[test]
fn a_role_without_pg_monitor_is_told_why_and_the_other_checks_run() {
    let cluster = Cluster::start().unwrap();
    let mut admin = cluster.connect("postgres").unwrap();
    admin
        .batch_execute("CREATE ROLE app LOGIN PASSWORD 'app-secret-pw'")
        .unwrap();
    admin
        .batch_execute("CREATE DATABASE appdb OWNER app")
        .unwrap();
    let url = format!(
        "postgresql://app:app-secret-pw@127.0.0.1:{}/appdb",
        cluster.port()
    );
    let mut app = Client::connect(&url, NoTls).unwrap();
    app.batch_execute(
        "CREATE SEQUENCE order_no AS integer; SELECT setval('order_no', 2100000000);",
    )
    .unwrap();
    let report = run(&mut app, &HealthConfig::default());
    for name in [
        "idle_in_transaction",
        "long_running",
        "blocking",
        "replication_lag",
    ] {
        let c = check(&report, name);
        assert_eq!(c.status, Status::Unknown, "{name}");
        assert!(c.message.contains("pg_monitor"), "{name}: {}", c.message);
    }
    // The rest went on: the sequence is found, which outranks unknown.
    assert_eq!(findings(&report, "sequence-near-limit").len(), 1);
    assert_eq!(check(&report, "connections").status, Status::Ok);
    assert_eq!(report.exit_code, 2);

    app.batch_execute("ALTER SEQUENCE order_no RESTART")
        .unwrap();
    let report = run(&mut app, &HealthConfig::default());
    assert_eq!(report.status, Status::Unknown);
    assert_eq!(report.exit_code, 3);

    admin.batch_execute("GRANT pg_monitor TO app").unwrap();
    let mut app = Client::connect(&url, NoTls).unwrap();
    let report = run(&mut app, &HealthConfig::default());
    assert_eq!(report.status, Status::Ok, "{report:#?}");
}

#[test]
fn an_invalid_index_from_a_failed_concurrent_build_is_flagged() {
    let cluster = Cluster::start().unwrap();
    let mut client = cluster.connect("postgres").unwrap();
    client.batch_execute(SHOP).unwrap();
    // Duplicates make the unique build fail, leaving the index behind, invalid.
    let err = client
        .batch_execute("CREATE UNIQUE INDEX CONCURRENTLY orders_total_key ON orders (total)")
        .unwrap_err();
    assert_eq!(err.code().unwrap().code(), "23505");
    client
        .batch_execute(
            "CREATE INDEX CONCURRENTLY orders_placed_idx ON orders ((1 / (total - total)))",
        )
        .unwrap_err();
    let report = run(&mut client, &HealthConfig::default());
    let found = findings(&report, "invalid-index");
    assert_eq!(found.len(), 2, "{found:#?}");
    let unique = found
        .iter()
        .find(|f| f.object == "index public.orders_total_key")
        .unwrap();
    assert_eq!(unique.severity, dbsage_catalog::finding::Severity::Error);
    assert!(unique
        .fix_sql
        .as_deref()
        .unwrap()
        .contains("REINDEX INDEX CONCURRENTLY \"public\".\"orders_total_key\""));
    let plain = found
        .iter()
        .find(|f| f.object == "index public.orders_placed_idx")
        .unwrap();
    assert_eq!(plain.severity, dbsage_catalog::finding::Severity::Warning);
    assert_eq!(check(&report, "invalid_indexes").status, Status::Critical);
    client
        .batch_execute("DROP INDEX orders_total_key, orders_placed_idx")
        .unwrap();
    let report = run(&mut client, &HealthConfig::default());
    assert_eq!(check(&report, "invalid_indexes").status, Status::Ok);
}

/// Waits (bounded) until the statistics show dead rows in `table`.
fn wait_for_dead_rows(client: &mut Client, table: &str) {
    let start = Instant::now();
    loop {
        let dead: i64 = client
            .query_one(
                "SELECT coalesce((SELECT n_dead_tup FROM pg_stat_user_tables WHERE relname = $1), 0)",
                &[&table],
            )
            .unwrap()
            .get(0);
        if dead > 0 {
            return;
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "no dead rows reported"
        );
        thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn dead_rows_and_stale_vacuum_are_flagged_until_vacuumed() {
    let cluster = Cluster::start().unwrap();
    let mut client = cluster.connect("postgres").unwrap();
    client.batch_execute(SHOP).unwrap();
    // ANALYZE's row count reaches the statistics now, not after the delete's.
    client
        .batch_execute("SELECT pg_stat_force_next_flush()")
        .unwrap();
    let mut writer = cluster.connect("postgres").unwrap();
    writer
        .batch_execute("DELETE FROM orders WHERE id % 10 < 6; SELECT pg_stat_force_next_flush();")
        .unwrap();
    drop(writer);
    wait_for_dead_rows(&mut client, "orders");
    let report = run(&mut client, &HealthConfig::default());
    let dead = findings(&report, "dead-tuples");
    assert_eq!(dead.len(), 1, "{report:#?}");
    assert_eq!(dead[0].object, "table public.orders");
    assert_eq!(dead[0].evidence["dead_rows"], 3000);
    // 3,000 dead of 5,000: 60 %.
    assert_eq!(dead[0].evidence["live_rows"], 2000);
    assert_eq!(dead[0].severity, dbsage_catalog::finding::Severity::Error);
    let lenient = run(&mut client, &config("[dead_tuples]\ncritical_percent = 70"));
    assert_eq!(check(&lenient, "dead_tuples").status, Status::Warning);
    assert_eq!(
        dead[0].fix_sql.as_deref(),
        Some("VACUUM (ANALYZE) \"public\".\"orders\";")
    );
    // Never vacuumed since the server started: judged as soon as the threshold is that short.
    assert!(findings(&report, "stale-vacuum").is_empty());
    let report = run(&mut client, &config("[vacuum_age]\nwarning_seconds = 0"));
    let stale = findings(&report, "stale-vacuum");
    assert_eq!(stale.len(), 1, "{stale:#?}");
    assert_eq!(stale[0].evidence["never"], true);
    assert!(findings(&report, "stale-analyze")
        .iter()
        .any(|f| f.object == "table public.orders"));

    client.batch_execute("VACUUM (ANALYZE) orders").unwrap();
    let report = run(&mut client, &HealthConfig::default());
    assert!(findings(&report, "dead-tuples").is_empty(), "{report:#?}");
}

#[test]
fn an_inactive_replication_slot_is_a_warning() {
    let cluster = Cluster::start_with(&ClusterOptions {
        settings: vec![("wal_level".into(), "replica".into())],
        ..Default::default()
    })
    .unwrap();
    let mut client = cluster.connect("postgres").unwrap();
    client
        .batch_execute("SELECT pg_create_physical_replication_slot('old_standby', true)")
        .unwrap();
    let report = run(&mut client, &HealthConfig::default());
    let found = findings(&report, "replication-slot");
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].object, "replication slot old_standby");
    assert_eq!(found[0].evidence["active"], false);
    assert_eq!(check(&report, "replication_slots").status, Status::Warning);
    assert!(found[0]
        .fix_sql
        .as_deref()
        .unwrap()
        .contains("pg_drop_replication_slot('old_standby')"));
}

#[test]
fn failing_wal_archiving_is_critical() {
    let cluster = Cluster::start_with(&ClusterOptions {
        settings: vec![
            ("wal_level".into(), "replica".into()),
            ("archive_mode".into(), "on".into()),
            ("archive_command".into(), "'/bin/false'".into()),
        ],
        ..Default::default()
    })
    .unwrap();
    let mut client = cluster.connect("postgres").unwrap();
    client
        .batch_execute(
            "CREATE TABLE t AS SELECT g FROM generate_series(1, 1000) g; SELECT pg_switch_wal();",
        )
        .unwrap();
    let start = Instant::now();
    loop {
        let failed: i64 = client
            .query_one("SELECT failed_count FROM pg_stat_archiver", &[])
            .unwrap()
            .get(0);
        if failed > 0 {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "the archiver never failed"
        );
        thread::sleep(Duration::from_millis(200));
    }
    let report = run(&mut client, &HealthConfig::default());
    let found = findings(&report, "wal-archiving-failing");
    assert_eq!(found.len(), 1, "{report:#?}");
    assert_eq!(check(&report, "archiving").status, Status::Critical);
    assert!(found[0].evidence["last_failed_wal"].as_str().unwrap().len() == 24);
    assert!(found[0].evidence["ready_segments"].as_i64().unwrap() >= 1);
}

#[test]
fn thresholds_are_validated_and_unknown_keys_refused() {
    let parse = |text: &str| {
        let value: toml::Value = toml::from_str(text).unwrap();
        HealthConfig::from_toml(Some(&value))
    };
    let err = parse("[long_running]\nwarning_secs = 5").unwrap_err();
    assert!(err.contains("warning_secs"), "{err}");
    let err = parse("[sequences]\nwarning_percent = 99\ncritical_percent = 90").unwrap_err();
    assert!(err.contains("[health.sequences]"), "{err}");
    let err = parse("[cache_hit]\nwarning_ratio = 0.5\ncritical_ratio = 0.9").unwrap_err();
    assert!(err.contains("[health.cache_hit]"), "{err}");
    let ok = parse("[long_running]\nwarning_seconds = 5\ncritical_seconds = 10").unwrap();
    assert_eq!(ok.long_running.warning_seconds, 5.0);
    assert_eq!(ok.sequences.critical_percent, 95.0);
}
