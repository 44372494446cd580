//! Replication checks against a real streaming standby: `pg_basebackup` from a throwaway
//! primary, replay paused to make it lag, and a replication slot nobody uses.

use std::thread;
use std::time::{Duration, Instant};

use dbsage_catalog::finding::Finding;
use dbsage_cluster::{Cluster, ClusterOptions};
use dbsage_tune::health::{self, HealthConfig, HealthReport, Status};
use postgres::Client;

fn run(client: &mut Client, config: &HealthConfig) -> HealthReport {
    health::run(client, config, None).expect("health runs")
}

fn status(report: &HealthReport, check: &str) -> Status {
    report
        .checks
        .iter()
        .find(|c| c.check == check)
        .unwrap()
        .status
}

fn findings<'a>(report: &'a HealthReport, id: &str) -> Vec<&'a Finding> {
    report
        .checks
        .iter()
        .flat_map(|c| &c.findings)
        .filter(|f| f.check == id)
        .collect()
}

fn wait_for(what: &str, mut condition: impl FnMut() -> bool) {
    let start = Instant::now();
    while !condition() {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "timed out waiting for {what}"
        );
        thread::sleep(Duration::from_millis(100));
    }
}

fn lowered() -> HealthConfig {
    let value: toml::Value =
        toml::from_str("[replication_lag]\nwarning_bytes = 1048576\ncritical_bytes = 268435456")
            .unwrap();
    HealthConfig::from_toml(Some(&value)).unwrap()
}

#[test]
fn a_paused_standby_lags_and_an_unused_slot_is_flagged() {
    let primary = Cluster::start().unwrap();
    let standby =
        Cluster::start_replica_of(&primary, Some("standby_one"), &ClusterOptions::default())
            .unwrap();
    assert!(standby.is_standby());
    let mut on_primary = primary.connect("postgres").unwrap();
    let mut on_standby = standby.connect("postgres").unwrap();
    wait_for("the standby to stream", || {
        on_primary
            .query_one(
                "SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'",
                &[],
            )
            .unwrap()
            .get::<_, i64>(0)
            == 1
    });
    on_primary
        .batch_execute("SELECT pg_create_physical_replication_slot('forgotten_standby', true)")
        .unwrap();

    // In step: nothing to say about the standby or its slot.
    let report = run(&mut on_primary, &lowered());
    assert_eq!(
        status(&report, "replication_lag"),
        Status::Ok,
        "{report:#?}"
    );
    let slots = findings(&report, "replication-slot");
    assert_eq!(slots.len(), 1);
    assert_eq!(slots[0].object, "replication slot forgotten_standby");

    on_standby
        .batch_execute("SELECT pg_wal_replay_pause()")
        .unwrap();
    on_primary
        .batch_execute(
            "CREATE TABLE events AS SELECT g AS id, repeat('payload', 20) AS body
               FROM generate_series(1, 40000) g",
        )
        .unwrap();
    wait_for("the standby to fall 1 MB behind", || {
        on_primary
            .query_one(
                "SELECT coalesce(pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn), 0)::float8
                   FROM pg_stat_replication",
                &[],
            )
            .unwrap()
            .get::<_, f64>(0)
            > 1_048_576.0
    });

    let report = run(&mut on_primary, &lowered());
    let lag = findings(&report, "replication-lag");
    assert_eq!(lag.len(), 1, "{report:#?}");
    assert!(lag[0].evidence["lag_bytes"].as_f64().unwrap() > 1_048_576.0);
    assert_eq!(lag[0].evidence["in_recovery"], false);
    assert_eq!(status(&report, "replication_lag"), Status::Warning);
    // The defaults (16 MB) do not flag a few MB.
    assert_eq!(
        status(
            &run(&mut on_primary, &HealthConfig::default()),
            "replication_lag"
        ),
        Status::Ok
    );

    // Seen from the standby: received, not replayed, and paused.
    let report = run(&mut on_standby, &lowered());
    let lag = findings(&report, "replication-lag");
    assert_eq!(lag.len(), 1, "{report:#?}");
    assert_eq!(lag[0].evidence["replay_paused"], true);
    assert!(
        lag[0].message.contains("replay is paused"),
        "{}",
        lag[0].message
    );

    on_standby
        .batch_execute("SELECT pg_wal_replay_resume()")
        .unwrap();
    wait_for("the standby to catch up", || {
        status(&run(&mut on_primary, &lowered()), "replication_lag") == Status::Ok
    });
}
