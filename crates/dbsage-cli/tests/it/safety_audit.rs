//! Safety suite, audit slice (issue 8): `repair` and `rollback` refuse what would make the
//! history lie, the audit actor comes from the operating system, and the event log is a hash
//! chain that `dbsage history --verify` checks. Real PostgreSQL, through the binary.

use crate::common;

use common::{stderr, stdout, TestProject};
use serde_json::Value;

const M1: &str = "20260101000000";
const M2: &str = "20260102000000";

/// A project with one applied migration that has a down file.
fn applied_with_down() -> TestProject {
    let p = TestProject::new();
    p.migration(M1, "users", "create table if not exists users (id int);\n");
    p.down(M1, "users", "drop table if exists users;\n");
    let out = p.run(&["migrate"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    p
}

fn event_names(p: &TestProject) -> Vec<String> {
    p.events().into_iter().map(|e| e.1).collect()
}

fn recorded_down_checksum(p: &TestProject, version: &str) -> Option<String> {
    p.client()
        .query_one(
            "select down_checksum from dbsage.schema_migrations where version = $1",
            &[&version],
        )
        .unwrap()
        .get(0)
}

/// Runs SQL as the superuser with the append-only trigger lifted: what an attacker with owner
/// rights can do to the log.
fn tamper(p: &TestProject, sql: &str) {
    p.client()
        .batch_execute(&format!(
            "alter table dbsage.migration_events disable trigger append_only;
             {sql};
             alter table dbsage.migration_events enable trigger append_only;"
        ))
        .unwrap();
}

#[test]
fn repair_forget_refuses_while_the_file_exists() {
    let p = TestProject::new();
    let file = p.migration(M1, "users", "create table if not exists users (id int);\n");
    assert_eq!(p.run(&["migrate"]).status.code(), Some(0));
    let out = p.run(&["repair", "--forget", M1, "--reason", "squashed"]);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("still exists"), "{err}");
    assert!(err.contains("delete the file"), "{err}");
    assert_eq!(p.history(), [M1], "nothing forgotten");
    assert!(!event_names(&p).contains(&"forgotten".to_string()));
    let (json, code) = p.json(&["repair", "--forget", M1, "--reason", "squashed"]);
    assert_eq!(code, 3);
    assert_eq!(json["error"]["kind"], "refused");
    // Once the file is gone on purpose, forget works.
    std::fs::remove_file(file).unwrap();
    let out = p.run(&["repair", "--forget", M1, "--reason", "squashed"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(p.history().is_empty());
}

#[test]
fn repair_accept_checksum_refuses_when_nothing_changed() {
    let p = applied_with_down();
    let out = p.run(&["repair", "--accept-checksum", M1, "--reason", "why not"]);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("nothing changed"), "{err}");
    assert!(!event_names(&p).contains(&"checksum_accepted".to_string()));
    // An edited down file is a change to accept, and the recorded down checksum follows.
    let before = recorded_down_checksum(&p, M1).expect("recorded at apply time");
    p.down(M1, "users", "-- reviewed\ndrop table if exists users;\n");
    let out = p.run(&["repair", "--accept-checksum", M1, "--reason", "comment"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let after = recorded_down_checksum(&p, M1).unwrap();
    assert_ne!(before, after);
    assert_eq!(after.len(), 64);
    // ... and accepting the same state again is refused.
    let out = p.run(&["repair", "--accept-checksum", M1, "--reason", "again"]);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
}

#[test]
fn rollback_refuses_a_down_file_changed_since_apply_until_accepted() {
    let p = applied_with_down();
    // Someone "improves" the down file after the migration ran.
    p.down(
        M1,
        "users",
        "drop table if exists users;\ndrop table if exists other_things;\n",
    );
    let out = p.run(&["rollback"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("down file"), "{err}");
    assert!(
        err.contains("changed since the migration was applied"),
        "{err}"
    );
    assert!(
        err.contains(&format!("repair --accept-checksum {M1}")),
        "{err}"
    );
    assert!(p.table_exists("users"), "nothing may be rolled back");
    assert_eq!(p.history(), [M1]);
    assert!(!event_names(&p).contains(&"rolled_back".to_string()));
    // After review, accepting it lets the rollback run.
    let out = p.run(&["repair", "--accept-checksum", M1, "--reason", "reviewed"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let (json, code) = p.json(&["rollback"]);
    assert_eq!(code, 0, "{json}");
    assert_eq!(json["rolled_back"][0]["version"], M1);
    assert_eq!(json["notes"], serde_json::json!([]));
    assert!(!p.table_exists("users"));
}

#[test]
fn rollback_refuses_a_migration_file_edited_since_apply() {
    let p = applied_with_down();
    p.migration(
        M1,
        "users",
        "create table if not exists users (id int, email text);\n",
    );
    let (json, code) = p.json(&["rollback"]);
    assert_eq!(code, 1, "{json}");
    assert_eq!(json["error"]["kind"], "inconsistent-history");
    let message = json["error"]["message"].as_str().unwrap();
    assert!(message.contains("edited after it was applied"), "{message}");
    assert!(p.table_exists("users"));
    assert_eq!(p.history(), [M1]);
}

#[test]
fn rollback_checks_every_step_before_undoing_any() {
    let p = TestProject::new();
    p.migration(M1, "one", "create table if not exists one (id int);\n");
    p.down(M1, "one", "drop table if exists one;\n");
    p.migration(M2, "two", "create table if not exists two (id int);\n");
    p.down(M2, "two", "drop table if exists two;\n");
    assert_eq!(p.run(&["migrate"]).status.code(), Some(0));
    p.down(M1, "one", "drop table if exists one cascade;\n");
    let out = p.run(&["rollback", "--steps", "2"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(p.table_exists("two"), "the newest step must not run either");
    assert_eq!(p.history(), [M1, M2]);
}

#[test]
fn older_history_tables_are_upgraded_in_place() {
    let p = applied_with_down();
    p.migration(M2, "posts", "create table if not exists posts (id int);\n");
    p.down(M2, "posts", "drop table if exists posts;\n");
    assert_eq!(p.run(&["migrate"]).status.code(), Some(0));
    // Turn the tables back into what an older dbsage wrote.
    p.client()
        .batch_execute(
            "drop trigger chain_lock on dbsage.migration_events;
             drop trigger chain_hash on dbsage.migration_events;
             alter table dbsage.migration_events drop column prev_hash, drop column hash;
             alter table dbsage.schema_migrations drop column down_checksum;
             insert into dbsage.migration_events (event, actor, reason) values ('old_event', 'old@host', 'before the chain');",
        )
        .unwrap();
    let old_rows = p.events().len();
    // No chain yet: --verify says so, it does not pretend the log is intact.
    let out = p.run(&["history", "--verify"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("no hash chain yet"),
        "{}",
        stderr(&out)
    );
    // A rollback upgrades the tables under the lock, notes the unrecorded down checksum, runs.
    let (json, code) = p.json(&["rollback"]);
    assert_eq!(code, 0, "{json}");
    assert_eq!(json["rolled_back"][0]["version"], M2);
    let notes = json["notes"].to_string();
    assert!(
        notes.contains("no down-file checksum was recorded"),
        "{notes}"
    );
    assert!(
        recorded_down_checksum(&p, M1).is_none(),
        "old rows stay unrecorded"
    );
    let events = p.events();
    let started = events
        .iter()
        .position(|e| e.1 == "audit_chain_started")
        .expect("the upgrade is recorded");
    assert_eq!(
        started, old_rows,
        "old rows chained, then the upgrade event"
    );
    let (json, code) = p.json(&["history", "--verify", "--limit", "0"]);
    assert_eq!(code, 0, "{json}");
    assert_eq!(json["verification"]["intact"], true);
    assert_eq!(
        json["verification"]["rows"].as_u64().unwrap() as usize,
        events.len()
    );
    // The next migrate records down checksums again.
    assert_eq!(p.run(&["migrate"]).status.code(), Some(0));
    assert_eq!(recorded_down_checksum(&p, M2).unwrap().len(), 64);
}

/// The user name of the effective uid and the kernel's host name, read without dbsage's code.
fn os_actor() -> String {
    let user = std::process::Command::new("id")
        .arg("-un")
        .output()
        .unwrap();
    let user = String::from_utf8(user.stdout).unwrap().trim().to_string();
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
    format!("{user}@{}", host.trim())
}

#[test]
fn the_audit_actor_comes_from_the_operating_system_not_user() {
    let p = TestProject::new();
    p.migration(M1, "users", "create table if not exists users (id int);\n");
    let out = p
        .cmd()
        .args(["migrate"])
        .env("USER", "mallory")
        .env("LOGNAME", "mallory")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let actors: Vec<String> = p
        .client()
        .query("select actor from dbsage.migration_events", &[])
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert!(!actors.is_empty());
    for actor in &actors {
        assert_eq!(actor, &os_actor());
        assert!(!actor.contains("mallory"));
    }
    let (json, _) = p.json(&["history"]);
    assert_eq!(json["events"][0]["actor"], os_actor());
}

#[test]
fn history_shows_the_log_newest_last_and_verifies_it() {
    let p = applied_with_down();
    p.migration(M2, "posts", "create table if not exists posts (id int);\n");
    assert_eq!(p.run(&["migrate"]).status.code(), Some(0));
    let (json, code) = p.json(&["history", "--verify"]);
    assert_eq!(code, 0, "{json}");
    assert_eq!(json["environment"], "test");
    let events = json["events"].as_array().unwrap();
    let kinds: Vec<&str> = events
        .iter()
        .map(|e| e["event"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["applied", "applied"]);
    assert_eq!(events[0]["version"], M1);
    assert_eq!(events[1]["version"], M2);
    assert_eq!(events[1]["name"], "posts");
    assert_eq!(events[0]["db_user"], "postgres");
    assert!(events[0]["at"].as_str().unwrap().ends_with('Z'));
    let verification = &json["verification"];
    assert_eq!(verification["intact"], true);
    assert_eq!(verification["rows"], 2);
    assert_eq!(verification["head"]["id"], events[1]["id"]);
    assert_eq!(verification["first_broken"], Value::Null);
    // --limit keeps the newest; newest last.
    let (json, code) = p.json(&["history", "--limit", "1"]);
    assert_eq!(code, 0);
    assert_eq!(json["events"].as_array().unwrap().len(), 1);
    assert_eq!(json["events"][0]["version"], M2);
    assert_eq!(json["verification"], Value::Null);
    // Human output: a table and the verdict.
    let out = p.run(&["history", "--verify"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains(&format!("{M2}_posts")), "{text}");
    assert!(text.find(M1).unwrap() < text.find(M2).unwrap(), "{text}");
    assert!(stderr(&out).contains("chain intact"), "{}", stderr(&out));
}

#[test]
fn history_verify_reports_a_row_changed_behind_dbsages_back() {
    let p = applied_with_down();
    p.down(M1, "users", "-- reviewed\ndrop table if exists users;\n");
    let out = p.run(&[
        "repair",
        "--accept-checksum",
        M1,
        "--reason",
        "comment only",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let id: i64 = p
        .client()
        .query_one(
            "select id from dbsage.migration_events where event = 'checksum_accepted'",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(p.run(&["history", "--verify"]).status.code(), Some(0));
    tamper(
        &p,
        &format!("update dbsage.migration_events set reason = 'nothing to see' where id = {id}"),
    );
    let (json, code) = p.json(&["history", "--verify"]);
    assert_eq!(code, 1, "{json}");
    let broken = &json["verification"]["first_broken"];
    assert_eq!(json["verification"]["intact"], false);
    assert_eq!(broken["id"], id);
    assert_eq!(broken["problem"], "content-changed");
    assert_eq!(broken["event"], "checksum_accepted");
    assert_ne!(broken["expected"], broken["found"]);
    let out = p.run(&["history", "--verify"]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains(&format!("event #{id}")), "{err}");
    assert!(err.contains("changed after it was written"), "{err}");
}

#[test]
fn history_verify_reports_a_deleted_row() {
    let p = applied_with_down();
    p.migration(M2, "posts", "create table if not exists posts (id int);\n");
    p.down(M2, "posts", "drop table if exists posts;\n");
    assert_eq!(p.run(&["migrate"]).status.code(), Some(0));
    let out = p.run(&["rollback"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let ids: Vec<i64> = p
        .client()
        .query("select id from dbsage.migration_events order by id", &[])
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(ids.len(), 3);
    // Hide the second migration's `applied` row.
    tamper(
        &p,
        &format!("delete from dbsage.migration_events where id = {}", ids[1]),
    );
    let (json, code) = p.json(&["history", "--verify"]);
    assert_eq!(code, 1, "{json}");
    let broken = &json["verification"]["first_broken"];
    assert_eq!(broken["id"], ids[2]);
    assert_eq!(broken["problem"], "link-broken");
    assert!(
        broken["message"]
            .as_str()
            .unwrap()
            .contains(&format!("event #{}", ids[0])),
        "{broken}"
    );
}

#[test]
fn every_insert_path_is_chained() {
    let p = applied_with_down();
    // A hand-written INSERT, as an older dbsage or a script would do it, in a session whose
    // time zone and date style differ from dbsage's.
    p.client()
        .batch_execute(
            "set timezone = 'America/New_York'; set datestyle = 'German';
             insert into dbsage.migration_events (event, actor, reason, details)
             values ('note', 'ops@elsewhere', 'manual entry', '{\"b\": 1, \"a\": [1.50, null]}'),
                    ('note', 'ops@elsewhere', null, null)",
        )
        .unwrap();
    let unchained: i64 = p
        .client()
        .query_one(
            "select count(*) from dbsage.migration_events where hash is null",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(unchained, 0);
    let (json, code) = p.json(&["history", "--verify"]);
    assert_eq!(code, 0, "{json}");
    assert_eq!(json["verification"]["rows"], 3);
    // A row slipped in with the chain trigger disabled is reported.
    p.client()
        .batch_execute(
            "alter table dbsage.migration_events disable trigger chain_hash;
             insert into dbsage.migration_events (event, actor) values ('sneaky', 'x@y');
             alter table dbsage.migration_events enable trigger chain_hash;",
        )
        .unwrap();
    let (json, code) = p.json(&["history", "--verify"]);
    assert_eq!(code, 1, "{json}");
    assert_eq!(json["verification"]["first_broken"]["problem"], "unchained");
    assert_eq!(json["verification"]["first_broken"]["event"], "sneaky");
}
