//! The backup gaps (issue 12): `restore --into` on the dev cluster and on a local throwaway
//! server (an empty database is restored into, a non-empty one refused), and `pitr restore` of a
//! server with a tablespace into a new folder, its tablespace into a new one beside it.

use crate::common;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use common::pitr::{archive_current_wal, Restored};
use common::{stderr, stdout, TestProject};
use dbsage_cluster::{Cluster, ClusterOptions};

const LIBRARY_SQL: &str = include_str!("../fixtures/backupgaps/library.sql");

fn count(client: &mut postgres::Client, sql: &str) -> i64 {
    client.query_one(sql, &[]).unwrap().get(0)
}

/// A project folder with no environment: `--env dev` is the embedded dev cluster.
fn dev_project() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("migrations")).unwrap();
    std::fs::write(dir.path().join("dbsage.toml"), "[project]\n").unwrap();
    dir
}

fn dbsage(root: &Path, args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_dbsage"))
        .current_dir(root)
        .env("NO_COLOR", "1")
        .env_remove("DATABASE_URL")
        .args(args)
        .output()
        .unwrap()
}

/// Stops the project's dev cluster when the test ends, passed or not.
struct DevStopper(PathBuf);

impl Drop for DevStopper {
    fn drop(&mut self) {
        let _ = dbsage(&self.0, &["dev", "stop"]);
    }
}

#[test]
fn restore_into_on_the_dev_cluster_fills_a_new_or_empty_database_and_refuses_a_used_one() {
    let dir = dev_project();
    let root = dir.path();
    let _stop = DevStopper(root.to_path_buf());
    let out = dbsage(root, &["dev", "start"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let url = stdout(&dbsage(root, &["dev", "url"])).trim().to_string();
    assert!(url.starts_with("postgresql://"), "{url}");
    let mut dev = postgres::Client::connect(&url, postgres::NoTls).unwrap();
    dev.batch_execute(LIBRARY_SQL).unwrap();

    let out = dbsage(root, &["backup", "--env", "dev", "--format", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));

    // A new database on the dev cluster.
    let out = dbsage(
        root,
        &[
            "restore",
            "latest",
            "--env",
            "dev",
            "--into",
            "library_copy",
            "--format",
            "json",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["database"], "library_copy");
    assert_eq!(report["ok"], true, "{report}");
    assert_eq!(report["comparison"]["tables"], 3, "{report}");
    let on = |database: &str| format!("{}/{database}", url.strip_suffix("/postgres").unwrap());
    let copy_url = on("library_copy");
    let mut copy = postgres::Client::connect(&copy_url, postgres::NoTls).unwrap();
    assert_eq!(count(&mut copy, "select count(*) from loans"), 1500);
    assert_eq!(
        count(
            &mut copy,
            "select count(*) from loans where returned_on is null"
        ),
        count(
            &mut dev,
            "select count(*) from loans where returned_on is null"
        )
    );
    drop(copy);

    // The same name again: it holds the restored tables now, so nothing is written into it.
    let out = dbsage(
        root,
        &[
            "restore",
            "latest",
            "--env",
            "dev",
            "--into",
            "library_copy",
        ],
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("already exists") && err.contains("is not empty"),
        "{err}"
    );
    assert!(err.contains("public.books"), "names what is there: {err}");
    assert!(err.contains("--replace"), "{err}");

    // An empty database made beforehand (as a platform that forbids CREATE DATABASE would
    // hand one out) is restored into.
    dev.batch_execute("create database library_empty").unwrap();
    let out = dbsage(
        root,
        &[
            "restore",
            "latest",
            "--env",
            "dev",
            "--into",
            "library_empty",
            "--format",
            "json",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["ok"], true, "{report}");
    let mut filled = postgres::Client::connect(&on("library_empty"), postgres::NoTls).unwrap();
    assert_eq!(count(&mut filled, "select count(*) from books"), 300);
}

#[test]
fn restore_into_on_a_local_throwaway_server_refuses_a_database_holding_only_a_function() {
    let p = TestProject::new();
    p.cluster.create_database("library").unwrap();
    p.cluster
        .connect("library")
        .unwrap()
        .batch_execute(LIBRARY_SQL)
        .unwrap();
    std::fs::write(
        p.root().join("dbsage.toml"),
        format!(
            "[environments.local]\nurl = \"{}\"\n",
            p.cluster.url("library")
        ),
    )
    .unwrap();
    let out = p.run(&["backup", "--env", "local"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));

    let (report, code) = p.json(&["restore", "latest", "--env", "local", "--into", "staging"]);
    assert_eq!(code, 0, "{report}");
    assert_eq!(report["comparison"]["rows"], 300 + 40 + 1500, "{report}");

    // A database holding only a function is not empty either.
    let mut admin = p.client();
    admin.batch_execute("create database scratch").unwrap();
    p.cluster
        .connect("scratch")
        .unwrap()
        .batch_execute("create function answer() returns int language sql as 'select 42'")
        .unwrap();
    let out = p.run(&["restore", "latest", "--env", "local", "--into", "scratch"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("1 functions"), "{}", stderr(&out));
}

/// Every file under `dir` with its content, sorted: a directory's state to compare.
fn snapshot_of(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut files = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap().flatten() {
            if entry.file_type().unwrap().is_dir() {
                stack.push(entry.path());
            } else {
                files.push((entry.path(), std::fs::read(entry.path()).unwrap()));
            }
        }
    }
    files.sort();
    files
}

#[test]
fn pitr_restore_puts_the_tablespaces_beside_the_new_folder_and_leaves_the_originals_alone() {
    let cluster = Cluster::start_with(&ClusterOptions {
        settings: vec![
            ("archive_mode".into(), "on".into()),
            ("full_page_writes".into(), "on".into()),
        ],
        major: None,
    })
    .expect("starting an archiving cluster");
    let p = TestProject::on_cluster(cluster, "");
    std::fs::set_permissions(p.root(), std::fs::Permissions::from_mode(0o755)).unwrap();
    // The tablespace lives outside the data directory, in a folder of the server's OS user.
    let ts_parent = tempfile::tempdir().unwrap();
    std::fs::set_permissions(ts_parent.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let ts_dir = ts_parent.path().join("archive_disk");
    std::fs::create_dir(&ts_dir).unwrap();
    if let Some(run_as) = dbsage_cluster::RunAs::detect().unwrap() {
        std::os::unix::fs::chown(&ts_dir, Some(run_as.uid), Some(run_as.gid)).unwrap();
    }
    let mut client = p.client();
    client
        .batch_execute(&format!(
            "create tablespace archive_disk location '{}'",
            ts_dir.display()
        ))
        .unwrap();
    client
        .batch_execute(
            "create table old_loans (id int primary key, book text not null, closed_on date not null)
               tablespace archive_disk;
             create index old_loans_book on old_loans (book) tablespace archive_disk;
             insert into old_loans select g, 'book-' || g % 97, date '2020-01-01' + g % 1000
               from generate_series(1, 5000) g;
             create table shelves (id int primary key, label text not null);
             insert into shelves select g, 'shelf ' || g from generate_series(1, 12) g;",
        )
        .unwrap();

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
    let (backup, code) = p.json(&["pitr", "backup", "--env", "test", "--type", "full"]);
    assert_eq!(code, 0, "{backup}");
    client
        .batch_execute("insert into old_loans values (5001, 'late', date '2024-05-05')")
        .unwrap();
    std::thread::sleep(Duration::from_millis(1100));
    let moment: String = client
        .query_one(
            "select to_char(clock_timestamp() at time zone 'utc', 'YYYY-MM-DD HH24:MI:SS.US') || '+00'",
            &[],
        )
        .unwrap()
        .get(0);
    std::thread::sleep(Duration::from_millis(1100));
    // After the moment: not in the copy (and replay needs a commit past the target to stop).
    client
        .batch_execute("insert into old_loans values (5002, 'later', date '2024-06-06')")
        .unwrap();
    archive_current_wal(&mut client);
    client.batch_execute("checkpoint").unwrap();
    let before = snapshot_of(&ts_dir);
    assert!(!before.is_empty());

    let into = p.root().join("restored");
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
    assert_eq!(restored["ok"], true, "{restored}");
    let tablespaces = restored["tablespaces"].as_array().unwrap();
    assert_eq!(tablespaces.len(), 1, "{restored}");
    assert_eq!(tablespaces[0]["name"], "archive_disk");
    let location = PathBuf::from(tablespaces[0]["location"].as_str().unwrap());
    // Beside the new data directory (PostgreSQL refuses tablespaces inside one), never the
    // original's.
    let beside = p
        .root()
        .join("restored.tablespaces")
        .canonicalize()
        .unwrap();
    assert_eq!(location, beside.join("archive_disk"), "{restored}");
    let into = into.canonicalize().unwrap();
    let links: Vec<PathBuf> = std::fs::read_dir(into.join("pg_tblspc"))
        .unwrap()
        .flatten()
        .map(|e| std::fs::read_link(e.path()).unwrap())
        .collect();
    assert_eq!(links, vec![location.clone()]);
    assert!(
        restored["usage"]
            .to_string()
            .contains("restored.tablespaces"),
        "removing the copy removes its tablespaces too: {restored}"
    );

    let port = restored["port"].as_u64().unwrap() as u16;
    let mut copy = postgres::Config::new()
        .host("127.0.0.1")
        .port(port)
        .user("postgres")
        .password(p.cluster.password())
        .dbname("postgres")
        .connect(postgres::NoTls)
        .unwrap();
    assert_eq!(count(&mut copy, "select count(*) from old_loans"), 5001);
    assert_eq!(
        count(
            &mut copy,
            "select count(*) from old_loans where book = 'book-5'"
        ),
        count(
            &mut client,
            "select count(*) from old_loans where book = 'book-5'"
        )
    );
    // Writing to the copy's tablespace changes nothing in the original's directory.
    copy.batch_execute(
        "insert into old_loans select g, 'copy', date '2025-01-01' from generate_series(6000, 9000) g; checkpoint",
    )
    .unwrap();
    drop(guard);
    assert_eq!(
        snapshot_of(&ts_dir),
        before,
        "the original tablespace directory is untouched"
    );
    assert_eq!(count(&mut client, "select count(*) from old_loans"), 5002);
}
