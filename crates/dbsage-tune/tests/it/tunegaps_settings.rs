//! `tune`'s settings findings that depend on the server's machine: `random_page_cost` left at
//! 4 on storage that does not seek, and `shared_buffers` small against the server's RAM. Each
//! reported when known, silent when fine, and withheld ("unknown") when the role may not look.

use crate::common;

use common::{mem_total_bytes, setup, start};

use dbsage_cluster::{Cluster, ClusterOptions};
use dbsage_tune::findings::{Finding, Severity};
use dbsage_tune::{tune, TuneOptions, TuneReport};
use postgres::{Client, NoTls};

fn run(client: &mut Client) -> TuneReport {
    tune(client, &TuneOptions::default()).expect("tune")
}

fn finding<'a>(report: &'a TuneReport, check: &str) -> Option<&'a Finding> {
    report.findings.iter().find(|f| f.check == check)
}

/// A login role with no right to read the server's files or protected settings.
fn app_role(cluster: &Cluster, admin: &mut Client) -> Client {
    setup(
        admin,
        "CREATE ROLE app LOGIN PASSWORD 'app-secret-pw'; CREATE DATABASE appdb OWNER app",
    );
    let url = format!(
        "postgresql://app:app-secret-pw@127.0.0.1:{}/appdb",
        cluster.port()
    );
    Client::connect(&url, NoTls).unwrap()
}

#[test]
fn random_page_cost_at_4_on_memory_storage_is_reported_until_lowered() {
    // Throwaway clusters live in /dev/shm: tmpfs, memory.
    let (cluster, mut client) = start();
    let data_dir = cluster.data_dir();
    let on_tmpfs = std::fs::read_to_string("/proc/self/mountinfo")
        .unwrap()
        .lines()
        .any(|l| {
            let f: Vec<&str> = l.split(' ').collect();
            f.get(4)
                .is_some_and(|mp| *mp != "/" && data_dir.starts_with(mp))
                && l.contains(" - tmpfs ")
        });
    assert!(
        on_tmpfs,
        "this test expects throwaway clusters in /dev/shm: {data_dir:?}"
    );

    let report = run(&mut client);
    let f = finding(&report, "setting-random-page-cost")
        .unwrap_or_else(|| panic!("{:#?} {:#?}", report.findings, report.withheld));
    assert_eq!(f.severity, Severity::Info);
    assert_eq!(f.object, "setting random_page_cost");
    assert_eq!(f.evidence["random_page_cost"], 4.0);
    assert_eq!(f.evidence["storage"], "memory");
    assert_eq!(f.evidence["device"], "tmpfs");
    assert!(f
        .fix_sql
        .as_deref()
        .unwrap()
        .contains("random_page_cost = 1.1"));

    // The fix applied (a reload, no restart): silence.
    setup(&mut client, f.fix_sql.as_deref().unwrap());
    let mut fresh = cluster.connect("postgres").unwrap();
    let report = run(&mut fresh);
    assert!(
        finding(&report, "setting-random-page-cost").is_none(),
        "{:#?}",
        report.findings
    );
    assert!(!report
        .withheld
        .iter()
        .any(|w| w.check == "setting-random-page-cost"));
}

#[test]
fn a_role_that_cannot_see_the_storage_or_ram_gets_unknown_not_a_claim() {
    let (cluster, mut admin) = start();
    let mut app = app_role(&cluster, &mut admin);
    let report = run(&mut app);
    assert!(
        finding(&report, "setting-random-page-cost").is_none(),
        "{:#?}",
        report.findings
    );
    assert!(finding(&report, "setting-shared-buffers").is_none());
    let storage = report
        .withheld
        .iter()
        .find(|w| w.check == "setting-random-page-cost")
        .expect("withheld random_page_cost");
    assert!(
        storage.reason.contains("storage is unknown"),
        "{}",
        storage.reason
    );
    assert!(
        storage.reason.contains("needs superuser or pg_read_"),
        "{}",
        storage.reason
    );
    let ram = report
        .withheld
        .iter()
        .find(|w| w.check == "setting-shared-buffers")
        .expect("withheld shared_buffers");
    assert!(ram.reason.contains("RAM is unknown"), "{}", ram.reason);

    // Given the right to read the settings and the server's files, it judges.
    admin
        .batch_execute("GRANT pg_read_all_settings, pg_read_server_files TO app")
        .unwrap();
    // Function privileges are per database: granted in app's.
    cluster
        .connect("appdb")
        .unwrap()
        .batch_execute("GRANT EXECUTE ON FUNCTION pg_read_file(text) TO app")
        .unwrap();
    let report = run(&mut app);
    assert!(
        finding(&report, "setting-random-page-cost").is_some(),
        "{:#?}",
        report.withheld
    );
    assert!(
        finding(&report, "setting-shared-buffers").is_some(),
        "{:#?}",
        report.withheld
    );
}

#[test]
fn shared_buffers_small_against_the_servers_ram_is_reported() {
    // Throwaway clusters run with 32 MB of shared buffers.
    let (_cluster, mut client) = start();
    let ram = mem_total_bytes();
    assert!(ram >= 1 << 30, "this test needs a machine of 1 GB or more");
    let report = run(&mut client);
    let f = finding(&report, "setting-shared-buffers")
        .unwrap_or_else(|| panic!("{:#?} {:#?}", report.findings, report.withheld));
    assert_eq!(f.severity, Severity::Info);
    assert_eq!(f.evidence["shared_buffers_bytes"], 32 * 1024 * 1024);
    // The server's RAM: this machine's, unless a cgroup limits it further.
    let seen = f.evidence["ram_bytes"].as_i64().unwrap();
    if f.evidence["ram_limited_by_cgroup"] == false {
        assert_eq!(seen, ram, "{f:#?}");
    } else {
        assert!(seen < ram, "{f:#?}");
    }
    let quarter = format!("shared_buffers = '{}MB'", seen / 4 / (1024 * 1024));
    assert!(f.fix_sql.as_deref().unwrap().contains(&quarter), "{f:#?}");
}

#[test]
fn shared_buffers_at_a_quarter_of_ram_is_silent() {
    let quarter_mb = mem_total_bytes() / 4 / (1024 * 1024);
    let cluster = Cluster::start_with(&ClusterOptions {
        settings: vec![("shared_buffers".into(), format!("{quarter_mb}MB"))],
        ..Default::default()
    })
    .expect("start a cluster with a quarter of RAM as shared buffers");
    let mut client = cluster.connect("postgres").unwrap();
    let report = run(&mut client);
    assert!(
        finding(&report, "setting-shared-buffers").is_none(),
        "{:#?}",
        report.findings
    );
    assert!(!report
        .withheld
        .iter()
        .any(|w| w.check == "setting-shared-buffers"));
}
