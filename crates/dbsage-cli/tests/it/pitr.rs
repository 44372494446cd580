//! `dbsage pitr`: setup, backup and restore to a moment through pgBackRest, on a local cluster
//! with archiving on (the server runs as the `postgres` OS user when the tests run as root).

use crate::common;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::Duration;

use common::pitr::{archive_current_wal, Restored};
use common::{stderr, TestProject};
use dbsage_cluster::{Cluster, ClusterOptions};

/// A project whose `test` environment is a cluster archiving WAL. The project folder is
/// world-traversable like a home checkout, so the server's user reaches `.dbsage/pitr`.
fn archiving_project() -> TestProject {
    let cluster = Cluster::start_with(&ClusterOptions {
        settings: vec![
            ("archive_mode".into(), "on".into()),
            // Throwaway clusters turn it off; PITR of real servers has it on.
            ("full_page_writes".into(), "on".into()),
        ],
        major: None,
    })
    .expect("starting an archiving cluster");
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::create_dir(dir.path().join("migrations")).unwrap();
    std::fs::write(
        dir.path().join("dbsage.toml"),
        format!(
            "[migrate]\ndefault_environment = \"test\"\n\n[environments.test]\nurl = \"{}\"\n",
            cluster.url("postgres")
        ),
    )
    .unwrap();
    TestProject { dir, cluster }
}

fn server_time(client: &mut postgres::Client) -> String {
    client
        .query_one(
            "select to_char(clock_timestamp() at time zone 'utc', 'YYYY-MM-DD HH24:MI:SS.US') || '+00'",
            &[],
        )
        .unwrap()
        .get(0)
}

fn ids(client: &mut postgres::Client) -> Vec<i32> {
    client
        .query("select id from orders order by id", &[])
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect()
}

#[test]
fn restore_to_a_moment_between_two_writes_keeps_exactly_the_earlier_rows() {
    let p = archiving_project();
    let data_dir = p.cluster.data_dir();
    let (setup, code) = p.json(&[
        "pitr",
        "setup",
        "--env",
        "test",
        "--data-dir",
        data_dir.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{setup}");
    assert_eq!(setup["checked"], true);
    assert_eq!(setup["reloaded"][0], "archive_command");
    let config = p.root().join(".dbsage/pitr/pgbackrest-test.conf");
    assert!(std::fs::read_to_string(&config)
        .unwrap()
        .contains("[test]\npg1-path="));
    let mut client = p.client();
    let archive_command: String = client
        .query_one("show archive_command", &[])
        .unwrap()
        .get(0);
    assert!(
        archive_command.contains("archive-push %p"),
        "{archive_command}"
    );

    client
        .batch_execute(
            "create table orders (id int primary key, customer text not null, placed_at timestamptz not null default now());
             create index orders_customer on orders (customer);
             insert into orders (id, customer) values (1, 'acme'), (2, 'globex');",
        )
        .unwrap();
    let (backup, code) = p.json(&["pitr", "backup", "--env", "test", "--type", "full"]);
    assert_eq!(code, 0, "{backup}");
    assert_eq!(backup["backup"]["kind"], "full");
    assert_eq!(backup["backups"], 1);

    // Bad input: a moment before the first backup finished.
    let into = p.root().join("restored");
    let out = p.run(&[
        "pitr",
        "restore",
        "--env",
        "test",
        "--to",
        "2020-01-01 00:00:00+00",
        "--into",
        into.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("before the first backup finished"),
        "{}",
        stderr(&out)
    );
    assert!(!into.exists(), "nothing is created for a refused restore");

    // t1: three orders; the moment; t2: two more orders and a deletion.
    client
        .batch_execute(
            "insert into orders (id, customer) select g, 'initech' from generate_series(3, 5) g",
        )
        .unwrap();
    std::thread::sleep(Duration::from_millis(1100));
    let moment = server_time(&mut client);
    std::thread::sleep(Duration::from_millis(1100));
    client
        .batch_execute("insert into orders (id, customer) values (6, 'umbrella'), (7, 'hooli'); delete from orders where id = 1")
        .unwrap();
    archive_current_wal(&mut client);
    assert_eq!(ids(&mut client), vec![2, 3, 4, 5, 6, 7]);

    // Bad input: a data directory that is not empty is never written to.
    let used = p.root().join("used");
    std::fs::create_dir(&used).unwrap();
    std::fs::write(used.join("keep.txt"), "mine").unwrap();
    let out = p.run(&[
        "pitr",
        "restore",
        "--env",
        "test",
        "--to",
        &moment,
        "--into",
        used.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("is not empty"), "{}", stderr(&out));
    assert_eq!(
        std::fs::read_to_string(used.join("keep.txt")).unwrap(),
        "mine"
    );

    let guard = Restored(into.clone());
    let (restored, code) = p.json(&[
        "pitr",
        "restore",
        "--env",
        "test",
        "--to",
        &moment,
        "--into",
        into.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{restored}");
    assert_eq!(restored["ok"], true);
    let postgres_db = restored["databases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["database"] == "postgres")
        .unwrap();
    assert_eq!(postgres_db["tables"][0]["table"], "public.orders");
    assert_eq!(postgres_db["tables"][0]["rows"], 5);
    assert_eq!(postgres_db["indexes"], 2, "{postgres_db}");
    assert!(
        restored["stopped"]
            .as_str()
            .unwrap()
            .contains("recovery stopping"),
        "{restored}"
    );
    let usage = restored["usage"].to_string();
    assert!(
        usage.contains("stop -D") && usage.contains(into.to_str().unwrap()),
        "{usage}"
    );

    // Exactly the t1 rows: order 1 not yet deleted, 6 and 7 not yet placed.
    let port = restored["port"].as_u64().unwrap();
    let mut copy = postgres::Config::new()
        .host("127.0.0.1")
        .port(port as u16)
        .user("postgres")
        .password(p.cluster.password())
        .dbname("postgres")
        .connect(postgres::NoTls)
        .unwrap();
    assert_eq!(ids(&mut copy), vec![1, 2, 3, 4, 5]);
    let in_recovery: bool = copy
        .query_one("select pg_is_in_recovery()", &[])
        .unwrap()
        .get(0);
    assert!(!in_recovery, "the copy is promoted and writable");
    drop(guard);
    assert_eq!(
        ids(&mut client),
        vec![2, 3, 4, 5, 6, 7],
        "the source is untouched"
    );
}

fn managed_project(url: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("dbsage.toml"),
        format!(
            "[migrate]\ndefault_environment = \"prod\"\n\n[environments.prod]\nurl = \"{url}\"\n"
        ),
    )
    .unwrap();
    dir
}

fn dbsage(dir: &Path, args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_dbsage"))
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn managed_platforms_are_told_what_they_offer_instead() {
    let supabase = managed_project(
        "postgresql://postgres:secret@db.abcdefghijklmnopqrst.supabase.co:5432/postgres",
    );
    let out = dbsage(
        supabase.path(),
        &["pitr", "setup", "--data-dir", "/var/lib/postgresql/15/main"],
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let text = stderr(&out);
    assert!(
        text.contains("Supabase") && text.contains("Point in Time"),
        "{text}"
    );
    assert!(!text.contains("secret"), "{text}");

    let rds = managed_project(
        "postgresql://app:secret@shop.c9akciq32.eu-west-1.rds.amazonaws.com:5432/shop",
    );
    let out = dbsage(
        rds.path(),
        &[
            "pitr",
            "restore",
            "--to",
            "2026-12-01 10:00:00+00",
            "--into",
            "/tmp/never",
        ],
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("restore-db-instance-to-point-in-time"),
        "{}",
        stderr(&out)
    );
    assert!(!Path::new("/tmp/never").exists());
}

#[test]
fn setup_on_a_server_without_archiving_says_a_restart_is_needed_and_checks_the_data_dir() {
    // A plain throwaway cluster: archive_mode is off, as on a fresh install.
    let p = TestProject::new();
    std::fs::set_permissions(p.root(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let other = p.root().join("not-the-data-dir");
    std::fs::create_dir(&other).unwrap();
    let out = p.run(&[
        "pitr",
        "setup",
        "--env",
        "test",
        "--data-dir",
        other.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("is not this server's data directory"),
        "{}",
        stderr(&out)
    );

    let data_dir = p.cluster.data_dir();
    let out = p.run(&[
        "pitr",
        "setup",
        "--env",
        "test",
        "--data-dir",
        data_dir.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let text = common::stdout(&out) + &stderr(&out);
    assert!(
        text.contains("archive_mode = on") && text.contains("RESTART"),
        "{text}"
    );
    let pending: Vec<String> = p
        .client()
        .query(
            "select name from pg_settings where pending_restart order by 1",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert!(pending.contains(&"archive_mode".to_string()), "{pending:?}");
    let auto = std::fs::read_to_string(data_dir.join("postgresql.auto.conf")).unwrap();
    assert!(
        auto.contains("archive_mode = 'on'") && auto.contains("archive-push %p"),
        "{auto}"
    );
    // pitr backup before the restart fails in pgBackRest's words, not silently.
    let out = p.run(&["pitr", "backup", "--env", "test"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("pgbackrest backup failed"),
        "{}",
        stderr(&out)
    );
}
