//! `dbsage health` checks driven to warning and critical for real: connections held against a
//! low `max_connections`, transaction IDs consumed behind a forgotten transaction until the
//! oldest one passes the wraparound thresholds, and a working set larger than shared buffers.

use crate::common;

use dbsage_catalog::finding::Finding;
use dbsage_cluster::{Cluster, ClusterOptions};
use dbsage_tune::health::{self, CheckReport, HealthConfig, HealthReport, Status};
use postgres::Client;

fn run(client: &mut Client) -> HealthReport {
    health::run(client, &HealthConfig::default(), None).expect("health runs")
}

fn check<'a>(report: &'a HealthReport, name: &str) -> &'a CheckReport {
    report
        .checks
        .iter()
        .find(|c| c.check == name)
        .unwrap_or_else(|| panic!("no check {name}"))
}

fn only_finding<'a>(report: &'a HealthReport, name: &str) -> &'a Finding {
    let c = check(report, name);
    assert_eq!(c.findings.len(), 1, "{c:#?}");
    &c.findings[0]
}

fn start_with(settings: &[(&str, &str)]) -> Cluster {
    Cluster::start_with(&ClusterOptions {
        settings: settings
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        ..Default::default()
    })
    .expect("start a throwaway cluster")
}

#[test]
fn connections_reach_warning_then_critical_as_sessions_are_held() {
    // 13 - 3 reserved for superusers = 10 usable: 9 in use is 90 % (warning), 10 is 100 %.
    let cluster = start_with(&[
        ("max_connections", "13"),
        ("superuser_reserved_connections", "3"),
    ]);
    let mut monitor = cluster.connect("postgres").unwrap();
    let mut held: Vec<Client> = (0..6)
        .map(|_| cluster.connect("postgres").unwrap())
        .collect();
    let report = run(&mut monitor);
    assert_eq!(
        check(&report, "connections").status,
        Status::Ok,
        "{report:#?}"
    );

    held.push(cluster.connect("postgres").unwrap());
    let mut idle_in_tx = cluster.connect("postgres").unwrap();
    idle_in_tx.batch_execute("begin; select 1").unwrap();
    held.push(idle_in_tx);
    let report = run(&mut monitor);
    let f = only_finding(&report, "connections");
    assert_eq!(f.evidence["used"], 9);
    assert_eq!(f.evidence["max_connections"], 13);
    assert_eq!(f.evidence["by_state"]["idle in transaction"], 1, "{f:#?}");
    assert_eq!(check(&report, "connections").status, Status::Warning);

    held.push(cluster.connect("postgres").unwrap());
    let report = run(&mut monitor);
    assert_eq!(check(&report, "connections").status, Status::Critical);
    assert_eq!(only_finding(&report, "connections").evidence["used"], 10);
    assert_eq!(report.exit_code, 2);

    held.truncate(4);
    // A closed connection's backend exits a moment later: wait until the server counts the
    // monitor and the four held sessions only.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let sessions: i64 = monitor
            .query_one(
                "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend'",
                &[],
            )
            .unwrap()
            .get(0);
        if sessions == 5 || std::time::Instant::now() > deadline {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let report = run(&mut monitor);
    assert_eq!(check(&report, "connections").status, Status::Ok);
}

/// Consumes `n` transaction IDs, one committed transaction each (what a busy server does).
fn consume_xids(client: &mut Client, n: i32) {
    client
        .execute("call consume_xids($1)", &[&n])
        .expect("consume transaction IDs");
}

#[test]
fn wraparound_warns_then_goes_critical_behind_a_forgotten_transaction() {
    // autovacuum_freeze_max_age at its minimum (100,000), and thresholds configured at 100 %
    // and 200 % of it (an anti-wraparound vacuum that could not finish, then one that failed
    // twice over), so a few seconds of transactions reach them; a forgotten transaction holds
    // the horizon, so no vacuum can freeze past it. The defaults (650 / 700 %) would take
    // 700,000 transactions, about 25 s here.
    let cluster = start_with(&[("autovacuum_freeze_max_age", "100000")]);
    let config = {
        let value: toml::Value =
            toml::from_str("[wraparound]\nwarning_percent = 100\ncritical_percent = 200").unwrap();
        HealthConfig::from_toml(Some(&value)).unwrap()
    };
    let mut forgotten = cluster.connect("postgres").unwrap();
    forgotten
        .batch_execute("begin; select txid_current();")
        .unwrap();
    let mut app = cluster.connect("postgres").unwrap();
    app.batch_execute(
        "create procedure consume_xids(n int) language plpgsql as $$
         begin
           for i in 1..n loop
             perform txid_current();
             commit;
           end loop;
         end $$",
    )
    .unwrap();
    let report = health::run(&mut app, &config, None).unwrap();
    assert_eq!(check(&report, "wraparound").status, Status::Ok);

    consume_xids(&mut app, 100_000);
    let report = health::run(&mut app, &config, None).unwrap();
    let f = check(&report, "wraparound")
        .findings
        .iter()
        .find(|f| f.object == "database postgres")
        .unwrap_or_else(|| panic!("{:#?}", check(&report, "wraparound")));
    assert_eq!(f.severity.as_str(), "warning", "{f:#?}");
    assert_eq!(f.evidence["autovacuum_freeze_max_age"], 100_000);
    let age = f.evidence["age"].as_i64().unwrap();
    assert!((100_000..200_000).contains(&age), "{f:#?}");
    assert!(f.fix_sql.as_deref().unwrap().contains("VACUUM (FREEZE"));

    consume_xids(&mut app, 100_000);
    let report = health::run(&mut app, &config, None).unwrap();
    assert_eq!(check(&report, "wraparound").status, Status::Critical);
    let f = check(&report, "wraparound")
        .findings
        .iter()
        .find(|f| f.object == "database postgres")
        .unwrap();
    assert!(f.evidence["percent"].as_f64().unwrap() >= 200.0, "{f:#?}");
    assert_eq!(report.exit_code, 2);
}

#[test]
fn cache_hit_ratio_is_critical_when_the_working_set_does_not_fit() {
    // Throwaway clusters run with 32 MB of shared buffers; these readings are about 50 MB.
    let cluster = start_with(&[]);
    let mut client = cluster.connect("postgres").unwrap();
    common::setup(
        &mut client,
        "create table readings (id bigint primary key, sensor int not null, payload text not null);
         insert into readings select g, g % 100, repeat('x', 200) from generate_series(1, 200000) g;
         analyze readings",
    );
    // Too few reads since the reset: not judged.
    common::setup(&mut client, "select pg_stat_reset()");
    let report = run(&mut client);
    let c = check(&report, "cache_hit");
    assert_eq!(c.status, Status::Ok);
    assert!(c.message.contains("too few to judge"), "{}", c.message);

    // A dashboard scanning the whole table: every block read from outside shared buffers.
    let mut dashboard = cluster.connect("postgres").unwrap();
    for _ in 0..3 {
        dashboard
            .query("select sensor, count(*) from readings group by sensor", &[])
            .unwrap();
    }
    common::flush_stats(&mut dashboard);
    let report = run(&mut client);
    let c = check(&report, "cache_hit");
    assert_eq!(c.status, Status::Critical, "{c:#?}");
    let f = only_finding(&report, "cache_hit");
    assert!(f.evidence["ratio"].as_f64().unwrap() < 0.94, "{f:#?}");
    let (hit, read) = (
        f.evidence["blks_hit"].as_i64().unwrap(),
        f.evidence["blks_read"].as_i64().unwrap(),
    );
    assert!(hit + read >= 10_000 && read > 5_000, "{f:#?}");

    // The application's lookups of recent readings, all from cache, bring it back over time:
    // the ratio is cumulative, so it climbs through warning to ok.
    let mut status = Status::Critical;
    let mut seen = vec![];
    for round in 0..20 {
        dashboard
            .batch_execute(
                "do $$ begin
                   for i in 1..25000 loop
                     perform payload from readings where id = 1 + i % 2000;
                   end loop;
                 end $$",
            )
            .unwrap();
        common::flush_stats(&mut dashboard);
        let next = check(&run(&mut client), "cache_hit").status;
        if next != status {
            seen.push((round, next));
            status = next;
        }
        if status == Status::Ok {
            break;
        }
    }
    let order: Vec<Status> = seen.iter().map(|(_, s)| *s).collect();
    assert_eq!(order, [Status::Warning, Status::Ok], "{seen:?}");
}
