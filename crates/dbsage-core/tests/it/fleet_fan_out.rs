//! The fan-out runner on real databases: how many run at once, canaries first, the order of
//! the report, and fleet members reached through the ordinary connect path.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use dbsage_cluster::Cluster;
use dbsage_core::config::Project;
use dbsage_core::fan_out::{self, FanOutOptions, Outcome};
use dbsage_core::fleet::{self, Fleet};

/// A project whose `regions` environment lists `n` databases of `cluster` inline.
fn regions(cluster: &Cluster, n: usize) -> (tempfile::TempDir, Project, Fleet) {
    let dir = tempfile::tempdir().unwrap();
    let urls: Vec<String> = (1..=n)
        .map(|i| {
            format!(
                "\"{}\"",
                cluster.create_database(&format!("region_{i}")).unwrap()
            )
        })
        .collect();
    std::fs::write(
        dir.path().join("dbsage.toml"),
        format!(
            "[environments.regions]\nurls = [{}]\nprotected = true\n",
            urls.join(", ")
        ),
    )
    .unwrap();
    let project = Project::load(dir.path()).unwrap();
    let fleet = fleet::resolve(&project, Some("regions")).unwrap().unwrap();
    (dir, project, fleet)
}

#[test]
fn runs_at_most_parallel_targets_at_once_and_reports_in_list_order() {
    let cluster = Cluster::start().unwrap();
    let (_dir, project, fleet) = regions(&cluster, 8);
    // Every member carries the environment's name and protection; no password in its name.
    for (i, t) in fleet.targets.iter().enumerate() {
        assert_eq!(t.name, "regions");
        assert!(t.protected);
        assert_eq!(
            t.display,
            format!("region_{}@127.0.0.1:{}", i + 1, cluster.port())
        );
        assert!(!t.display.contains(cluster.password()));
    }
    let active = AtomicUsize::new(0);
    let peak = AtomicUsize::new(0);
    let work = |target: &dbsage_core::env::Target| {
        let mut client = target.connect(&project, "fan-out test")?;
        let now = active.fetch_add(1, Ordering::SeqCst) + 1;
        peak.fetch_max(now, Ordering::SeqCst);
        let row = client
            .query_one("select current_database()::text, pg_sleep(0.3)::text", &[])
            .map_err(|e| dbsage_core::Error::db("sleeping", e))?;
        active.fetch_sub(1, Ordering::SeqCst);
        Ok(row.get::<_, String>(0))
    };
    let started = Instant::now();
    let report = fan_out::run(
        &fleet.targets,
        &FanOutOptions {
            parallel: 4,
            ..Default::default()
        },
        &work,
        &|_| {},
    );
    let elapsed = started.elapsed();
    assert_eq!(peak.load(Ordering::SeqCst), 4);
    // Eight sleeps of 0.3 s on four workers: two rounds, not eight.
    assert!(elapsed < Duration::from_millis(1800), "{elapsed:?}");
    assert!(elapsed >= Duration::from_millis(600), "{elapsed:?}");
    let databases: Vec<String> = report
        .runs
        .iter()
        .map(|r| match &r.outcome {
            Outcome::Done(db) => db.clone(),
            other => panic!("{other:?}"),
        })
        .collect();
    let expected: Vec<String> = (1..=8).map(|i| format!("region_{i}")).collect();
    assert_eq!(databases, expected);
    assert_eq!(report.done(), 8);
}

#[test]
fn canaries_finish_before_any_other_target_starts() {
    let cluster = Cluster::start().unwrap();
    let (_dir, project, fleet) = regions(&cluster, 6);
    let log: Mutex<Vec<(String, Instant, Instant)>> = Mutex::new(Vec::new());
    let work = |target: &dbsage_core::env::Target| {
        let start = Instant::now();
        let mut client = target.connect(&project, "fan-out test")?;
        client
            .batch_execute("select pg_sleep(0.1)")
            .map_err(|e| dbsage_core::Error::db("sleeping", e))?;
        log.lock()
            .unwrap()
            .push((target.display.clone(), start, Instant::now()));
        Ok(())
    };
    let report = fan_out::run(
        &fleet.targets,
        &FanOutOptions {
            parallel: 4,
            canary: 2,
            ..Default::default()
        },
        &work,
        &|_| {},
    );
    assert_eq!(report.done(), 6);
    let log = log.into_inner().unwrap();
    let is_canary = |name: &str| name.starts_with("region_1@") || name.starts_with("region_2@");
    let canaries_end = log
        .iter()
        .filter(|(n, _, _)| is_canary(n))
        .map(|(_, _, end)| *end)
        .max()
        .unwrap();
    let others_start = log
        .iter()
        .filter(|(n, _, _)| !is_canary(n))
        .map(|(_, start, _)| *start)
        .min()
        .unwrap();
    assert!(canaries_end <= others_start);
    assert!(report.runs[..2].iter().all(|r| r.canary));
    assert!(report.runs[2..].iter().all(|r| !r.canary));
}
