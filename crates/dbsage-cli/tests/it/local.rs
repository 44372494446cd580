//! `dbsage migrate --local`: replay, checks, pass stamp, and never a postmaster left behind.

use crate::common;

use std::process::Stdio;
use std::time::{Duration, Instant};

use common::{postmasters_under, stderr, stdout, TestProject};

const M1: &str = "20260101000000";
const M2: &str = "20260102000000";

fn idempotent_users() -> &'static str {
    "create table if not exists users (id bigint primary key, email text);\n\
     alter table users enable row level security;\n\
     drop policy if exists users_read on users;\n\
     create policy users_read on users for select using (true);\n"
}

#[test]
fn local_replay_passes_and_records_a_stamp() {
    let p = TestProject::new();
    p.migration(M1, "users", idempotent_users());
    std::fs::write(
        p.root().join("seed.sql"),
        "insert into users values (1, 'a@x.io');",
    )
    .unwrap();
    let (json, code) = p.json(&["migrate", "--local"]);
    assert_eq!(code, 0, "{json}");
    assert_eq!(json["environment"], "local");
    assert_eq!(json["passed"], true);
    assert_eq!(json["applied"][0]["version"], M1);
    assert_eq!(json["checks"]["idempotency"]["status"], "passed");
    assert_eq!(json["checks"]["rollback"]["status"], "skipped");
    assert!(json["seed"].as_str().unwrap().ends_with("seed.sql"));
    let stamp = std::fs::read_to_string(p.root().join(".dbsage/local-pass.json")).unwrap();
    assert!(stamp.contains(json["migration_set"].as_str().unwrap()));
    // The real environment was not touched.
    assert!(p.history().is_empty());
}

#[test]
fn non_idempotent_migration_fails_the_check_with_its_location() {
    let p = TestProject::new();
    p.migration(
        M1,
        "users",
        "create table users (id int);\ncreate index users_id on users (id);\n",
    );
    let (json, code) = p.json(&["migrate", "--local"]);
    assert_eq!(code, 1);
    assert_eq!(json["passed"], false);
    let check = &json["checks"]["idempotency"];
    assert_eq!(check["status"], "failed");
    assert_eq!(check["findings"][0]["line"], 1);
    assert_eq!(check["findings"][0]["sqlstate"], "42P07");
    assert!(check["findings"][0]["message"]
        .as_str()
        .unwrap()
        .contains("IF NOT EXISTS"));
    assert!(!p.root().join(".dbsage/local-pass.json").exists());
    // At level warn it is reported but does not fail.
    let toml = std::fs::read_to_string(p.root().join("dbsage.toml")).unwrap();
    std::fs::write(
        p.root().join("dbsage.toml"),
        toml.replace("idempotency = \"error\"", "idempotency = \"warn\""),
    )
    .unwrap();
    let (json, code) = p.json(&["migrate", "--local"]);
    assert_eq!(code, 0);
    assert_eq!(json["checks"]["idempotency"]["status"], "warned");
}

#[test]
fn rollback_check_reports_objects_a_down_file_leaves_behind() {
    let p = TestProject::new();
    p.migration(
        M1,
        "users",
        "create table if not exists users (id bigint primary key);\n",
    );
    p.down(M1, "users", "drop table if exists users;\n");
    p.migration(M2, "email", "alter table users add column if not exists email text;\ncreate index if not exists users_email on users (email);\n");
    // Forgets the index's column: the schema after the down differs.
    p.down(M2, "email", "drop index if exists users_email;\n");
    let (json, code) = p.json(&["migrate", "--local"]);
    assert_eq!(code, 1, "{json}");
    let check = &json["checks"]["rollback"];
    assert_eq!(check["status"], "failed");
    let finding = &check["findings"][0];
    assert_eq!(finding["version"], M2);
    let objects = finding["objects"].to_string();
    assert!(objects.contains("public.users.email"), "{objects}");
    // A correct down file passes.
    p.down(
        M2,
        "email",
        "drop index if exists users_email;\nalter table users drop column if exists email;\n",
    );
    let (json, code) = p.json(&["migrate", "--local"]);
    assert_eq!(code, 0, "{json}");
    assert_eq!(json["checks"]["rollback"]["status"], "passed");
}

#[test]
fn a_failing_migration_in_local_mode_is_located_and_the_cluster_removed() {
    let p = TestProject::new();
    let clusters = tempfile::tempdir().unwrap();
    p.migration(
        M1,
        "bad",
        "create table if not exists t (id int);\nselect * from nope;\n",
    );
    let out = p
        .cmd()
        .args(["migrate", "--local"])
        .env("DBSAGE_CLUSTER_DIR", clusters.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains(&format!("{M1}_bad.sql:2:15")),
        "{}",
        stderr(&out)
    );
    assert!(postmasters_under(&clusters.path().to_string_lossy()).is_empty());
    assert_eq!(registry_entries(clusters.path()), 0);
}

fn registry_entries(base: &std::path::Path) -> usize {
    std::fs::read_dir(base)
        .unwrap()
        .flatten()
        .flat_map(|d| std::fs::read_dir(d.path()).into_iter().flatten())
        .count()
}

/// Starts `migrate --local` on a migration that sleeps, and waits until its server runs.
fn start_slow_local(p: &TestProject, clusters: &std::path::Path) -> (std::process::Child, u32) {
    p.migration(M1, "slow", "select pg_sleep(60);\n");
    #[allow(clippy::zombie_processes)] // the callers wait for it
    let child = p
        .cmd()
        .args(["migrate", "--local"])
        .env("DBSAGE_CLUSTER_DIR", clusters)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(pid) = postmasters_under(&clusters.to_string_lossy()).first() {
            // Give it time to reach the sleeping statement.
            std::thread::sleep(Duration::from_millis(500));
            return (child, *pid);
        }
        assert!(Instant::now() < deadline, "no local cluster appeared");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn ctrl_c_during_local_migrate_leaves_no_postmaster() {
    let p = TestProject::new();
    let clusters = tempfile::tempdir().unwrap();
    let (child, _) = start_slow_local(&p, clusters.path());
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(130), "{}", stderr(&out));
    assert!(postmasters_under(&clusters.path().to_string_lossy()).is_empty());
    assert_eq!(
        registry_entries(clusters.path()),
        0,
        "cluster files left behind"
    );
}

#[test]
fn kill_9_stops_the_server_and_the_next_run_cleans_up() {
    let p = TestProject::new();
    let clusters = tempfile::tempdir().unwrap();
    let (mut child, postmaster) = start_slow_local(&p, clusters.path());
    unsafe { libc::kill(child.id() as i32, libc::SIGKILL) };
    child.wait().unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::path::Path::new(&format!("/proc/{postmaster}")).exists() {
        assert!(
            Instant::now() < deadline,
            "postmaster {postmaster} outlived a kill -9 of dbsage"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(
        registry_entries(clusters.path()),
        1,
        "the killed run's files remain until the next run"
    );
    p.migration(M1, "slow", "select 1;\n");
    let out = p
        .cmd()
        .args(["migrate", "--local"])
        .env("DBSAGE_CLUSTER_DIR", clusters.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        registry_entries(clusters.path()),
        0,
        "the stale cluster was not cleaned"
    );
}

#[test]
fn human_output_summarises_the_checks() {
    let p = TestProject::new();
    p.migration(M1, "users", idempotent_users());
    let out = p.run(&["migrate", "--local"]);
    assert_eq!(out.status.code(), Some(0));
    let text = stdout(&out);
    assert!(text.contains("idempotency check: passed"), "{text}");
    assert!(text.contains("the cluster is gone"), "{text}");
    assert!(stderr(&out).contains("Started throwaway PostgreSQL"));
}

#[test]
fn lint_errors_stop_the_local_replay_unless_skipped() {
    let p = TestProject::new();
    p.migration(M1, "users", idempotent_users());
    p.migration(M2, "wipe", "truncate users;\n");
    let (json, code) = p.json(&["migrate", "--local"]);
    assert_eq!(code, 1, "{json}");
    assert_eq!(json["passed"], false);
    let lint = &json["checks"]["lint"];
    assert_eq!(lint["status"], "failed");
    let finding = lint["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule"] == "destructive-statement")
        .expect("destructive-statement finding");
    assert_eq!(finding["version"], M2);
    assert_eq!(finding["line"], 1);
    assert_eq!(
        json["applied"].as_array().unwrap().len(),
        0,
        "nothing replayed"
    );
    let (json, code) = p.json(&["migrate", "--local", "--skip-lint"]);
    assert_eq!(code, 0, "{json}");
    assert_eq!(json["applied"].as_array().unwrap().len(), 2);
    // Acknowledged destructive statements pass.
    p.migration(
        M2,
        "wipe",
        "-- dbsage:destructive test data only\ntruncate users;\n",
    );
    let (json, code) = p.json(&["migrate", "--local"]);
    assert_eq!(code, 0, "{json}");
}

#[test]
fn no_transaction_down_files_run_outside_a_transaction() {
    let p = TestProject::new();
    p.migration(
        M1,
        "users",
        "create table if not exists users (id bigint primary key, email text);\n",
    );
    p.migration(
        M2,
        "email_idx",
        "-- dbsage:no-transaction\ncreate index concurrently if not exists users_email on users (email);\n",
    );
    p.down(
        M2,
        "email_idx",
        "-- dbsage:no-transaction\ndrop index concurrently if exists users_email;\n",
    );
    let (json, code) = p.json(&["migrate", "--local"]);
    assert_eq!(code, 0, "{json}");
    assert_eq!(json["checks"]["rollback"]["status"], "passed");
    assert_eq!(p.run(&["migrate"]).status.code(), Some(0));
    let (json, code) = p.json(&["rollback"]);
    assert_eq!(code, 0, "{json}");
    assert_eq!(p.history(), [M1]);
    assert!(!p.table_exists("users_email"));
}

#[test]
fn missing_server_binaries_say_what_to_install() {
    let p = TestProject::new();
    p.migration(M1, "users", idempotent_users());
    let out = p
        .cmd()
        .args(["migrate", "--local"])
        .env("DBSAGE_PG_BIN", "/nonexistent/bin")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.contains("no PostgreSQL server binaries found"), "{err}");
    assert!(err.contains("apt-get install postgresql-15"), "{err}");
}
