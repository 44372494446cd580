//! `dbsage backup drill` (restore, verify, smoke tests, RPO/RTO in .dbsage/drills.json) and
//! `dbsage health`'s `backup_drill` check, against a second cluster over TCP with a password.

use crate::common;

use std::path::Path;

use common::{stderr, TestProject};
use serde_json::Value;

const SHOP_SQL: &str = include_str!("../../../dbsage-backup/tests/fixtures/backup/shop.sql");
const SMOKE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/pitr/smoke");

fn drill_check(p: &TestProject) -> Option<Value> {
    let (v, _) = p.json(&["health", "--env", "test"]);
    v["checks"]
        .as_array()
        .unwrap_or_else(|| panic!("{v}"))
        .iter()
        .find(|c| c["check"] == "backup_drill")
        .cloned()
}

fn drills(root: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(root.join(".dbsage/drills.json")).unwrap();
    serde_json::from_str::<Value>(&text).unwrap()["drills"]
        .as_array()
        .unwrap()
        .clone()
}

fn add_smoke_test(p: &TestProject, name: &str) {
    let dir = p.root().join("tests/smoke");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::copy(Path::new(SMOKE).join(name), dir.join(name)).unwrap();
}

#[test]
fn drill_restores_runs_smoke_tests_records_rpo_rto_and_health_watches_its_age() {
    let p = TestProject::new();
    p.client().batch_execute(SHOP_SQL).unwrap();
    assert!(
        drill_check(&p).is_none(),
        "never backed up: the check is skipped"
    );

    let (backup, code) = p.json(&["backup", "--env", "test"]);
    assert_eq!(code, 0, "{backup}");
    let check = drill_check(&p).unwrap();
    assert_eq!(check["status"], "warning", "{check}");
    assert!(
        check["message"]
            .as_str()
            .unwrap()
            .contains("no restore drill was ever run"),
        "{check}"
    );

    // The latest backup, no smoke tests yet: restored, verified, smoke skipped with a note.
    let (first, code) = p.json(&["backup", "drill", "--env", "test", "--latest"]);
    assert_eq!(code, 0, "{first}");
    assert_eq!(first["backup_id"], backup["id"]);
    assert_eq!(first["took_backup"], false);
    assert_eq!(first["smoke"]["status"], "skipped");
    assert!(first["smoke"]["note"]
        .as_str()
        .unwrap()
        .contains("tests/smoke"));

    // With smoke tests, taking a fresh backup: the data is seconds old, the restore measured.
    add_smoke_test(&p, "shop.toml");
    let (second, code) = p.json(&["backup", "drill", "--env", "test"]);
    assert_eq!(code, 0, "{second}");
    assert_eq!(second["ok"], true);
    assert_eq!(second["took_backup"], true);
    assert_ne!(second["backup_id"], backup["id"]);
    assert_eq!(second["smoke"]["status"], "passed", "{second}");
    assert_eq!(second["smoke"]["passed"], 4);
    let rpo = second["rpo_seconds"].as_i64().unwrap();
    assert!((0..120).contains(&rpo), "{second}");
    assert!(second["rto_ms"].as_u64().unwrap() > 0, "{second}");
    assert_eq!(drills(p.root()).len(), 2);
    assert_eq!(drill_check(&p).unwrap()["status"], "ok");

    // A month later: the last good drill is older than drill_max_age (30 days by default).
    let path = p.root().join(".dbsage/drills.json");
    let mut log: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    for d in log["drills"].as_array_mut().unwrap() {
        d["at_unix"] = Value::from(d["at_unix"].as_i64().unwrap() - 31 * 86_400);
    }
    std::fs::write(&path, log.to_string()).unwrap();
    let check = drill_check(&p).unwrap();
    assert_eq!(check["status"], "warning", "{check}");
    assert!(
        check["message"].as_str().unwrap().contains("31.0 days ago"),
        "{check}"
    );

    // The invoices feature ships with its smoke test; a drill on the old backup catches that
    // the backup predates it: exit 1, recorded as a failed drill.
    p.client()
        .batch_execute("create table invoices (id bigint primary key, order_id bigint not null references orders (id)); insert into invoices values (1, 1)")
        .unwrap();
    add_smoke_test(&p, "invoices.toml");
    let (stale, code) = p.json(&["backup", "drill", "--env", "test", "--latest"]);
    assert_eq!(code, 1, "{stale}");
    assert_eq!(stale["ok"], false);
    assert_eq!(stale["verified"], true, "the backup itself is sound");
    assert_eq!(stale["smoke"]["failed"], 1, "{stale}");
    assert!(
        stale["problems"].to_string().contains("invoices"),
        "{stale}"
    );
    let recorded = drills(p.root());
    assert_eq!(recorded.len(), 3);
    assert_eq!(recorded[2]["ok"], false);
    let check = drill_check(&p).unwrap();
    assert_eq!(check["status"], "warning");

    // A configured limit is read; a wrong one is a usage error.
    std::fs::write(
        p.root().join("dbsage.toml"),
        std::fs::read_to_string(p.root().join("dbsage.toml")).unwrap()
            + "\n[backup]\ndrill_max_age = \"60d\"\n",
    )
    .unwrap();
    let check = drill_check(&p).unwrap();
    assert_eq!(check["status"], "ok", "{check}");
    assert!(
        check["message"].as_str().unwrap().contains("FAILED"),
        "{check}"
    );
    let toml = std::fs::read_to_string(p.root().join("dbsage.toml"))
        .unwrap()
        .replace("\"60d\"", "\"soon\"");
    std::fs::write(p.root().join("dbsage.toml"), toml).unwrap();
    let out = p.run(&["health", "--env", "test"]);
    assert!(stderr(&out).contains("drill_max_age"), "{}", stderr(&out));
}
