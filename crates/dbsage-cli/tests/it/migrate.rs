//! `dbsage migrate`, `status`, `repair` against real throwaway clusters, through the binary.

use crate::common;

use std::process::Stdio;
use std::time::{Duration, Instant};

use common::{stderr, stdout, TestProject};

const M1: &str = "20260101000000";
const M2: &str = "20260102000000";
const M3: &str = "20260103000000";

#[test]
fn applies_pending_migrations_once_and_reports_status() {
    let p = TestProject::new();
    p.migration(
        M1,
        "users",
        "create table if not exists users (id bigint primary key);",
    );
    p.migration(
        M2,
        "posts",
        "create table if not exists posts (id bigint primary key);",
    );
    let (json, code) = p.json(&["migrate"]);
    assert_eq!(code, 0, "{json}");
    assert_eq!(json["environment"], "test");
    assert_eq!(json["passed"], true);
    assert_eq!(json["applied"].as_array().unwrap().len(), 2);
    assert_eq!(json["applied"][0]["version"], M1);
    assert!(json["applied"][0]["duration_ms"].is_u64());
    let (json, code) = p.json(&["migrate"]);
    assert_eq!(code, 0);
    assert_eq!(
        json["applied"].as_array().unwrap().len(),
        0,
        "second run is a no-op"
    );
    let (status, code) = p.json(&["status"]);
    assert_eq!(code, 0);
    assert_eq!(status["environment"], "test");
    let states: Vec<&str> = status["migrations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["state"].as_str().unwrap())
        .collect();
    assert_eq!(states, ["applied", "applied"]);
    assert_eq!(p.history(), [M1, M2]);
    let applied_events = p.events().iter().filter(|e| e.1 == "applied").count();
    assert_eq!(applied_events, 2);
}

#[test]
fn failing_migration_in_the_middle_leaves_no_trace_and_names_file_and_line() {
    let p = TestProject::new();
    p.migration(M1, "one", "create table if not exists one (id int);");
    p.migration(
        M2,
        "two",
        "create table if not exists two (id int);\ninsert into two values (1);\ninsert into two values ('not a number');\n",
    );
    p.migration(M3, "three", "create table if not exists three (id int);");
    let out = p.run(&["migrate"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains(&format!("{M2}_two.sql:3:25")), "{err}");
    assert!(err.contains("22P02"), "{err}");
    assert!(
        err.contains("insert into two values ('not a number')"),
        "{err}"
    );
    assert_eq!(p.history(), [M1], "only the first is recorded");
    assert!(p.table_exists("one"));
    assert!(
        !p.table_exists("two"),
        "the failed migration left a table behind"
    );
    assert!(!p.table_exists("three"));
    // Fix and re-run: completes.
    p.migration(
        M2,
        "two",
        "create table if not exists two (id int);\ninsert into two values (1);\n",
    );
    assert_eq!(p.run(&["migrate"]).status.code(), Some(0));
    assert_eq!(p.history(), [M1, M2, M3]);
}

#[test]
fn syntax_error_is_found_before_anything_runs() {
    let p = TestProject::new();
    p.migration(M1, "ok", "create table if not exists ok (id int);");
    p.migration(M2, "broken", "select 1;\ncreate table t (a int,, b int);\n");
    let (json, code) = p.json(&["migrate"]);
    assert_eq!(code, 1);
    assert_eq!(json["error"]["sqlstate"], "42601");
    assert_eq!(json["error"]["line"], 2);
    assert_eq!(json["error"]["column"], 23);
    assert!(json["error"]["file"]
        .as_str()
        .unwrap()
        .ends_with(&format!("{M2}_broken.sql")));
    assert!(
        p.history().is_empty(),
        "nothing may run when a pending file does not parse"
    );
    assert!(!p.table_exists("ok"));
}

#[test]
fn edited_applied_migration_is_refused_until_accepted() {
    let p = TestProject::new();
    p.migration(M1, "users", "create table if not exists users (id int);\n");
    assert_eq!(p.run(&["migrate"]).status.code(), Some(0));
    p.migration(
        M1,
        "users",
        "-- a comment\ncreate table if not exists users (id int);\n",
    );
    let out = p.run(&["migrate"]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains("edited after it was applied"), "{err}");
    assert!(
        err.contains(&format!("repair --accept-checksum {M1}")),
        "{err}"
    );
    let (status, code) = p.json(&["status"]);
    assert_eq!(code, 1);
    assert_eq!(status["migrations"][0]["state"], "modified");
    let out = p.run(&[
        "repair",
        "--accept-checksum",
        M1,
        "--reason",
        "comment only",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(p.run(&["migrate"]).status.code(), Some(0));
    assert!(p
        .events()
        .iter()
        .any(|e| e.1 == "checksum_accepted" && e.2.as_deref() == Some("comment only")));
}

#[test]
fn line_endings_alone_never_break_a_checksum() {
    let p = TestProject::new();
    p.migration(
        M1,
        "users",
        "create table if not exists users (\n  id int\n);\n",
    );
    assert_eq!(p.run(&["migrate"]).status.code(), Some(0));
    p.migration(
        M1,
        "users",
        "create table if not exists users (\r\n  id int\r\n);\r\n",
    );
    let (status, code) = p.json(&["status"]);
    assert_eq!(code, 0);
    assert_eq!(status["migrations"][0]["state"], "applied");
    assert_eq!(p.run(&["migrate"]).status.code(), Some(0));
}

#[test]
fn missing_applied_file_is_refused_until_forgotten() {
    let p = TestProject::new();
    let first = p.migration(M1, "one", "select 1;");
    p.migration(M2, "two", "select 2;");
    assert_eq!(p.run(&["migrate"]).status.code(), Some(0));
    std::fs::remove_file(first).unwrap();
    p.migration(M3, "three", "select 3;");
    let out = p.run(&["migrate"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("its file is missing"),
        "{}",
        stderr(&out)
    );
    assert_eq!(p.history(), [M1, M2]);
    let (status, _) = p.json(&["status"]);
    assert_eq!(status["migrations"][0]["state"], "missing");
    assert_eq!(
        p.run(&["repair", "--forget", M1, "--reason", "squashed"])
            .status
            .code(),
        Some(0)
    );
    assert_eq!(p.run(&["migrate"]).status.code(), Some(0));
    assert_eq!(p.history(), [M2, M3]);
}

#[test]
fn out_of_order_needs_explicit_permission() {
    let p = TestProject::new();
    p.migration(M2, "two", "select 2;");
    assert_eq!(p.run(&["migrate"]).status.code(), Some(0));
    p.migration(M1, "one", "select 1;");
    let out = p.run(&["migrate"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("out of order"), "{}", stderr(&out));
    assert_eq!(
        p.run(&["migrate", "--allow-out-of-order"]).status.code(),
        Some(0)
    );
    assert_eq!(p.history(), [M1, M2]);
}

#[test]
fn dry_run_runs_nothing_and_to_stops_at_a_version() {
    let p = TestProject::new();
    p.migration(M1, "one", "create table if not exists one (id int);");
    p.migration(M2, "two", "create table if not exists two (id int);");
    p.migration(M3, "three", "create table if not exists three (id int);");
    let (json, code) = p.json(&["migrate", "--dry-run"]);
    assert_eq!(code, 0);
    assert_eq!(json["planned"].as_array().unwrap().len(), 3);
    assert!(p.history().is_empty());
    assert!(!p.table_exists("one"));
    assert_eq!(p.run(&["migrate", "--to", M2]).status.code(), Some(0));
    assert_eq!(p.history(), [M1, M2]);
    let out = p.run(&["migrate", "--to", "29990101000000"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
}

#[test]
fn begin_commit_inside_a_wrapped_migration_is_refused() {
    let p = TestProject::new();
    p.migration(M1, "tx", "begin;\ncreate table t (id int);\ncommit;\n");
    let (json, code) = p.json(&["migrate"]);
    assert_eq!(code, 1);
    assert_eq!(json["error"]["line"], 1);
    assert!(json["error"]["hint"]
        .as_str()
        .unwrap()
        .contains("dbsage:no-transaction"));
    assert!(p.history().is_empty());
}

#[test]
fn two_concurrent_processes_apply_each_migration_exactly_once() {
    let p = TestProject::new();
    for i in 0..5 {
        p.migration(
            &format!("2026010100000{i}"),
            &format!("m{i}"),
            &format!("create table t{i} (id int);\nselect pg_sleep(0.1);\n"),
        );
    }
    let a = p
        .cmd()
        .args(["migrate", "--format", "json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let b = p
        .cmd()
        .args(["migrate", "--format", "json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let outs = [a.wait_with_output().unwrap(), b.wait_with_output().unwrap()];
    let mut total = 0;
    for o in &outs {
        assert_eq!(o.status.code(), Some(0), "{}", stderr(o));
        let v: serde_json::Value = serde_json::from_str(&stdout(o)).unwrap();
        total += v["applied"].as_array().unwrap().len();
    }
    assert_eq!(
        total, 5,
        "each migration applied exactly once across both processes"
    );
    assert_eq!(p.history().len(), 5);
    assert_eq!(p.events().iter().filter(|e| e.1 == "applied").count(), 5);
}

#[test]
fn kill_9_during_a_slow_migration_leaves_nothing_and_a_rerun_completes() {
    let p = TestProject::new();
    let mut c = p.client();
    c.batch_execute("create table slow_flag(x int); insert into slow_flag values (1);")
        .unwrap();
    p.migration(M1, "fast", "create table if not exists fast (id int);");
    p.migration(
        M2,
        "slow",
        "create table half (id int);\nselect pg_sleep(60) from slow_flag;\ncreate table other_half (id int);\n",
    );
    let mut child = p.cmd().arg("migrate").spawn().unwrap();
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
            "the slow migration never started"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    unsafe { libc::kill(child.id() as i32, libc::SIGKILL) };
    child.wait().unwrap();
    assert_eq!(
        p.history(),
        [M1],
        "the killed migration must not be recorded"
    );
    assert!(
        !p.table_exists("half"),
        "half of the killed migration is visible"
    );
    c.batch_execute("delete from slow_flag").unwrap();
    let out = p.run(&["migrate"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(p.history(), [M1, M2]);
    assert!(p.table_exists("half") && p.table_exists("other_half"));
}

#[test]
fn lock_timeout_says_which_relation_and_who_holds_it() {
    let p = TestProject::with_config("");
    // Shorter lock timeout for this test.
    let toml = std::fs::read_to_string(p.root().join("dbsage.toml")).unwrap();
    std::fs::write(
        p.root().join("dbsage.toml"),
        toml.replace("[migrate]\n", "[migrate]\nlock_timeout = \"300ms\"\n"),
    )
    .unwrap();
    let mut setup = p.client();
    setup.batch_execute("create table busy (id int)").unwrap();
    let mut blocker = postgres::Client::connect(
        &format!("{}?application_name=the_blocker", p.cluster.url("postgres")),
        postgres::NoTls,
    )
    .unwrap();
    blocker
        .batch_execute("begin; lock table busy in access share mode;")
        .unwrap();
    p.migration(M1, "alter_busy", "alter table busy add column x int;");
    let out = p.run(&["migrate"]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains("55P03"), "{err}");
    assert!(err.contains("busy is locked by pid"), "{err}");
    assert!(err.contains("the_blocker"), "{err}");
    assert!(err.contains("idle in transaction"), "{err}");
    blocker.batch_execute("rollback").unwrap();
    assert_eq!(p.run(&["migrate"]).status.code(), Some(0));
}

#[test]
fn create_index_concurrently_by_two_processes_at_once_does_not_deadlock() {
    let p = TestProject::new();
    p.migration(
        M1,
        "big",
        "create table if not exists big (id bigint primary key, a int);\ninsert into big select g, g % 1000 from generate_series(1, 100000) g;\n",
    );
    p.migration(
        M2,
        "big_idx",
        "-- dbsage:no-transaction\nselect pg_sleep(1);\ncreate index concurrently if not exists big_a_idx on big (a);\n",
    );
    p.migration(
        M3,
        "after",
        "create table if not exists after_idx (id int);",
    );
    let started = Instant::now();
    let a = p
        .cmd()
        .args(["migrate", "--format", "json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let b = p
        .cmd()
        .args(["migrate", "--format", "json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let outs = [a.wait_with_output().unwrap(), b.wait_with_output().unwrap()];
    for o in &outs {
        assert_eq!(o.status.code(), Some(0), "{}\n{}", stdout(o), stderr(o));
    }
    assert!(started.elapsed() < Duration::from_secs(25));
    assert_eq!(p.history(), [M1, M2, M3]);
    let mut c = p.client();
    let valid: bool = c
        .query_one(
            "select indisvalid from pg_index where indexrelid = 'big_a_idx'::regclass",
            &[],
        )
        .unwrap()
        .get(0);
    assert!(valid);
}

#[test]
fn failed_concurrent_index_is_reported_with_the_drop_to_run() {
    let p = TestProject::new();
    p.migration(
        M1,
        "dups",
        "create table if not exists dups (a int);\ninsert into dups values (1), (1);\n",
    );
    p.migration(
        M2,
        "unique_idx",
        "-- dbsage:no-transaction\ncreate unique index concurrently dups_a_key on dups (a);\n",
    );
    let (json, code) = p.json(&["migrate"]);
    assert_eq!(code, 1);
    assert_eq!(json["error"]["sqlstate"], "23505");
    let hint = json["error"]["hint"].as_str().unwrap();
    assert!(
        hint.contains("DROP INDEX CONCURRENTLY IF EXISTS public.dups_a_key;"),
        "{hint}"
    );
    assert_eq!(p.history(), [M1]);
}

#[test]
fn status_shows_pending_and_out_of_order() {
    let p = TestProject::new();
    p.migration(M2, "two", "select 2;");
    assert_eq!(p.run(&["migrate"]).status.code(), Some(0));
    p.migration(M1, "one", "select 1;");
    p.migration(M3, "three", "select 3;");
    let (status, code) = p.json(&["status"]);
    assert_eq!(code, 0);
    let m = status["migrations"].as_array().unwrap();
    assert_eq!(m[0]["state"], "pending");
    assert_eq!(m[0]["out_of_order"], true);
    assert_eq!(m[1]["state"], "applied");
    assert_eq!(m[2]["state"], "pending");
    let human = stdout(&p.run(&["status"]));
    assert!(human.contains("pending (out of order)"), "{human}");
    assert!(
        !human.contains('\u{1b}'),
        "no colour when not on a terminal"
    );
}
