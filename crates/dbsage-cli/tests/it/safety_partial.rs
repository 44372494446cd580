//! Safety suite (issue 8): honest about partial work, closed output pipes, and a migrations
//! folder where nothing is skipped silently. Real throwaway PostgreSQL, through the binary.

use crate::common;

use std::os::unix::ffi::OsStrExt;
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::{stderr, stdout, TestProject};

const M1: &str = "20260101000000";
const M2: &str = "20260102000000";
const M3: &str = "20260103000000";

/// `orders` with columns a and b, created outside dbsage.
fn project_with_orders() -> TestProject {
    let p = TestProject::new();
    p.client()
        .batch_execute("create table orders (id int, a int, b int)")
        .unwrap();
    p
}

/// The details of the newest event of `kind` for `version`.
fn event_details(p: &TestProject, version: &str, kind: &str) -> Option<serde_json::Value> {
    p.client()
        .query_opt(
            "select details::text from dbsage.migration_events where version = $1 and event = $2 order by id desc limit 1",
            &[&version, &kind],
        )
        .unwrap()
        .map(|r| serde_json::from_str(&r.get::<_, String>(0)).unwrap())
}

fn status_entry(p: &TestProject, version: &str) -> serde_json::Value {
    let (json, _) = p.json(&["status"]);
    json["migrations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["version"] == version)
        .cloned()
        .unwrap_or_else(|| panic!("{version} not in status: {json}"))
}

#[test]
fn a_no_transaction_migration_failing_midway_is_reported_as_partial() {
    let p = project_with_orders();
    p.migration(
        M1,
        "indexes",
        "-- dbsage:no-transaction\ncreate index concurrently orders_a_idx on orders (a);\ncreate index concurrently orders_c_idx on orders (no_such_column);\ncreate index concurrently orders_b_idx on orders (b);\n",
    );
    let out = p.run(&["migrate"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("1/3 statements ran: CREATE INDEX CONCURRENTLY orders_a_idx")
            || err.contains("1/3 statements ran: create index concurrently orders_a_idx"),
        "{err}"
    );
    assert!(err.contains("PARTIAL"), "{err}");

    let details = event_details(&p, M1, "partial").expect("a partial event in the audit log");
    assert_eq!(details["statements_done"], 1);
    assert_eq!(details["statements_total"], 3);
    assert_eq!(details["direction"], "up");
    assert!(details["ran"][0].as_str().unwrap().contains("orders_a_idx"));
    assert!(event_details(&p, M1, "started").is_some());

    let entry = status_entry(&p, M1);
    assert_eq!(entry["state"], "partial", "{entry}");
    assert_eq!(entry["partial"]["statements_done"], 1);
    assert_eq!(entry["partial"]["statements_total"], 3);
    assert!(entry["partial"]["fix"]
        .as_str()
        .unwrap()
        .contains("idempotent"));

    let human = p.run(&["status"]);
    assert_eq!(human.status.code(), Some(1));
    let text = stdout(&human);
    assert!(text.contains("partial"), "{text}");
    assert!(
        text.contains("is partial: 1/3 statements ran") && text.contains("fix:"),
        "{text}"
    );

    // Made idempotent and re-run: applied, no longer partial.
    p.migration(
        M1,
        "indexes",
        "-- dbsage:no-transaction\ncreate index concurrently if not exists orders_a_idx on orders (a);\ncreate index concurrently if not exists orders_c_idx on orders (b);\ncreate index concurrently if not exists orders_b_idx on orders (b);\n",
    );
    let out = p.run(&["migrate"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(status_entry(&p, M1)["state"], "applied");
}

#[test]
fn a_no_transaction_migration_failing_on_its_first_statement_is_not_partial() {
    let p = project_with_orders();
    p.migration(
        M1,
        "indexes",
        "-- dbsage:no-transaction\ncreate index concurrently orders_c_idx on orders (no_such_column);\ncreate index concurrently orders_b_idx on orders (b);\n",
    );
    let out = p.run(&["migrate"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(!stderr(&out).contains("PARTIAL"), "{}", stderr(&out));
    assert!(event_details(&p, M1, "failed").is_some());
    assert_eq!(status_entry(&p, M1)["state"], "pending");
}

#[test]
fn ctrl_c_during_a_no_transaction_migration_says_what_ran_not_nothing_half_applied() {
    let p = project_with_orders();
    p.migration(
        M1,
        "slow_indexes",
        "-- dbsage:no-transaction\ncreate index concurrently orders_a_idx on orders (a);\nselect pg_sleep(60);\ncreate index concurrently orders_b_idx on orders (b);\n",
    );
    let child = p
        .cmd()
        .arg("migrate")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut c = p.client();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let sleeping: i64 = c
            .query_one(
                "select count(*) from pg_stat_activity where query like '%pg_sleep(60)%' and pid <> pg_backend_pid()",
                &[],
            )
            .unwrap()
            .get(0);
        if sleeping > 0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the slow statement never started"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(130));
    let err = stderr(&out);
    assert!(!err.contains("nothing half-applied"), "{err}");
    assert!(
        err.contains("1/3 statements ran") && err.contains("orders_a_idx"),
        "{err}"
    );
    assert!(
        err.contains("pg_sleep"),
        "the running statement is named: {err}"
    );

    let entry = status_entry(&p, M1);
    assert_eq!(entry["state"], "partial", "{entry}");
    assert_eq!(entry["partial"]["interrupted"], true);
    assert!(p.history().is_empty());
}

#[test]
fn ctrl_c_outside_a_no_transaction_file_still_says_nothing_half_applied() {
    let p = TestProject::new();
    p.migration(
        M1,
        "slow",
        "create table half (id int);\nselect pg_sleep(60);\n",
    );
    let child = p
        .cmd()
        .arg("migrate")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut c = p.client();
    let deadline = Instant::now() + Duration::from_secs(20);
    while c
        .query_one(
            "select count(*) from pg_stat_activity where query like '%pg_sleep(60)%' and pid <> pg_backend_pid()",
            &[],
        )
        .unwrap()
        .get::<_, i64>(0)
        == 0
    {
        assert!(Instant::now() < deadline, "the slow statement never started");
        std::thread::sleep(Duration::from_millis(20));
    }
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(130));
    assert!(stderr(&out).contains("nothing half-applied"));
}

#[test]
fn a_no_transaction_down_file_failing_midway_is_reported_as_partial() {
    let p = project_with_orders();
    p.migration(
        M1,
        "indexes",
        "-- dbsage:no-transaction\ncreate index concurrently orders_a_idx on orders (a);\n",
    );
    p.down(
        M1,
        "indexes",
        "-- dbsage:no-transaction\ndrop index concurrently orders_a_idx;\ndrop index concurrently orders_missing_idx;\n",
    );
    let out = p.run(&["migrate"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let out = p.run(&["rollback"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("1/2 statements ran: drop index concurrently orders_a_idx"),
        "{err}"
    );
    assert!(err.contains("roll it back again"), "{err}");
    let details = event_details(&p, M1, "partial").expect("a partial event");
    assert_eq!(details["direction"], "down");
    assert_eq!(details["statements_done"], 1);
    let entry = status_entry(&p, M1);
    assert_eq!(entry["state"], "partial", "{entry}");
    assert_eq!(entry["partial"]["direction"], "down");
    assert_eq!(p.history(), [M1], "still recorded as applied");
}

#[test]
fn a_closed_output_pipe_does_not_stop_the_migrations() {
    let p = TestProject::new();
    for (v, name) in [(M1, "one"), (M2, "two"), (M3, "three")] {
        p.migration(v, name, &format!("create table {name} (id int);"));
    }
    // Like `dbsage migrate 2>&1 | head -0`: both pipes closed before dbsage writes anything.
    let mut child = p
        .cmd()
        .arg("migrate")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    drop(child.stderr.take());
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(0));
    assert_eq!(p.history(), [M1, M2, M3]);
}

#[test]
fn a_closed_output_pipe_keeps_the_failure_exit_code() {
    let p = TestProject::new();
    p.migration(M1, "one", "create table one (id int);");
    p.migration(M2, "two", "create table one (id int);");
    let mut child = p
        .cmd()
        .arg("migrate")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    drop(child.stderr.take());
    assert_eq!(child.wait().unwrap().code(), Some(1));
    assert_eq!(p.history(), [M1]);
}

#[test]
fn unusable_files_in_the_migrations_folder_are_listed_and_unrelated_files_ignored() {
    let p = TestProject::new();
    let dir = p.root().join("migrations");
    p.migration(M1, "users", "create table users (id int);");
    std::fs::write(dir.join("README.md"), "notes").unwrap();
    std::fs::write(dir.join(".gitkeep"), "").unwrap();
    std::fs::write(dir.join("notes.txt"), "").unwrap();
    let out = p.run(&["status"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));

    let bad_name = std::ffi::OsStr::from_bytes(b"20260104000000_caf\xe9.sql");
    std::fs::write(dir.join(bad_name), "select 1;").unwrap();
    std::os::unix::fs::symlink("/nonexistent/x.sql", dir.join("20260105000000_link.sql")).unwrap();
    std::fs::write(dir.join("20260106000000_upper.SQL"), "select 1;").unwrap();
    p.migration(M2, "orders", "select 1;");
    p.migration(M2, "orders_again", "select 1;");
    p.migration(M3, "users", "select 1;");
    let out = p.run(&["status"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    for expected in [
        "20260104000000_caf",
        "not valid UTF-8",
        "20260105000000_link.sql: dangling symlink",
        "20260106000000_upper.SQL: the extension must be lowercase",
        "same version 20260102000000",
        "20260103000000_users.sql: has the same name `users`",
        "5 files",
    ] {
        assert!(err.contains(expected), "missing {expected:?} in:\n{err}");
    }
    for unrelated in ["README.md", ".gitkeep", "notes.txt"] {
        assert!(!err.contains(unrelated), "{unrelated} reported:\n{err}");
    }
}

#[test]
fn an_adopted_layout_reports_a_wrong_case_extension() {
    let p = TestProject::with_config("\n[migrations]\nlayout = \"sqlx\"\n");
    let dir = p.root().join("migrations");
    std::fs::write(dir.join("1_users.sql"), "create table users (id int);").unwrap();
    std::fs::write(dir.join("2_orders.SQL"), "create table orders (id int);").unwrap();
    let out = p.run(&["status"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("2_orders.SQL: the extension must be lowercase"),
        "{}",
        stderr(&out)
    );
    std::fs::remove_file(dir.join("2_orders.SQL")).unwrap();
    std::fs::write(dir.join("1_users.down.sql"), "drop table users;").unwrap();
    let out = p.run(&["status"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}

#[test]
fn dry_run_of_a_large_migration_keeps_memory_bounded() {
    let p = TestProject::new();
    // ~8 MB of tables, indexes and seed rows in one file: every parse tree kept alive costs
    // ~100x the text, so a run that keeps them all needs far more than the bound below.
    let mut sql = String::new();
    let mut i = 0;
    while sql.len() < 8_000_000 {
        sql.push_str(&format!(
            "create table if not exists t{i} (id bigint generated always as identity primary key, name text not null default 'x', amount numeric(12, 2), created_at timestamptz not null default now());\ncreate index if not exists t{i}_name_idx on t{i} (name);\ninsert into t{i} (name, amount) values ('a', 1.5), ('b', 2.5), ('c', 3.5);\n"
        ));
        i += 1;
    }
    p.migration(M1, "big", &sql);
    let out = std::process::Command::new("/usr/bin/time")
        .args([
            "-f",
            "maxrss_kb=%M",
            env!("CARGO_BIN_EXE_dbsage"),
            "migrate",
            "--dry-run",
        ])
        .current_dir(p.root())
        .env("NO_COLOR", "1")
        .env_remove("DATABASE_URL")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stdout(&out).contains(&format!("{M1}_big ({} statements)", i * 3)),
        "{}",
        stdout(&out)
    );
    let err = stderr(&out);
    let kb: u64 = err
        .lines()
        .find_map(|l| l.strip_prefix("maxrss_kb="))
        .expect("/usr/bin/time output")
        .trim()
        .parse()
        .unwrap();
    eprintln!(
        "migrate --dry-run of an 8 MB migration: {} MB peak RSS",
        kb / 1024
    );
    assert!(
        kb < 250 * 1024,
        "peak RSS {} MB for an 8 MB migration",
        kb / 1024
    );
    assert!(p.history().is_empty());
}
