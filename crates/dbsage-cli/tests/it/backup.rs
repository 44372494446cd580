//! `dbsage backup`, `backup list`, `backup verify`, `restore` through the binary, against a
//! second cluster reached over TCP with a password.

use crate::common;

use std::time::{Duration, Instant};

use common::{stderr, stdout, TestProject};

const SHOP_SQL: &str = include_str!("../../../dbsage-backup/tests/fixtures/backup/shop.sql");

fn shop(extra: &str) -> TestProject {
    let p = TestProject::with_config(extra);
    p.client().batch_execute(SHOP_SQL).unwrap();
    p
}

fn backup_id(p: &TestProject) -> String {
    let (v, code) = p.json(&["backup", "--env", "test"]);
    assert_eq!(code, 0, "{v}");
    v["id"].as_str().unwrap().to_string()
}

#[test]
fn backup_list_verify_and_a_damaged_copy() {
    let p = shop("");
    let out = p.run(&["backup", "--env", "test", "--jobs", "2"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("6 tables, 4720 rows"), "{text}");
    assert!(text.contains("dbsage backup verify"), "{text}");

    let (list, code) = p.json(&["backup", "list"]);
    assert_eq!(code, 0);
    let backups = list["backups"].as_array().unwrap();
    assert_eq!(backups.len(), 1);
    assert_eq!(backups[0]["state"], "complete");
    assert_eq!(backups[0]["rows"], 4720);
    assert!(backups[0]["last_verify"].is_null());
    let id = backups[0]["id"].as_str().unwrap().to_string();

    let out = p.run(&["backup", "verify", "latest"]);
    assert!(out.status.success(), "{}\n{}", stdout(&out), stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains("measured RTO") && text.contains("4720 rows compared"),
        "{text}"
    );
    let (list, _) = p.json(&["backup", "list", "--env", "test"]);
    assert_eq!(list["backups"][0]["last_verify"]["ok"], true);
    let human = stdout(&p.run(&["backup", "list"]));
    assert!(human.contains(&id) && human.contains("verified"), "{human}");

    // A damaged copy: exit 1, the table named.
    let copy = p.root().join("copy");
    copy_dir(&p.root().join(".dbsage/backups/test").join(&id), &copy);
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(copy.join("manifest.json")).unwrap())
            .unwrap();
    let file = manifest["files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["table"] == "public.customers")
        .unwrap()["path"]
        .as_str()
        .unwrap()
        .to_string();
    std::fs::remove_file(copy.join(&file)).unwrap();
    let (v, code) = p.json(&["backup", "verify", copy.to_str().unwrap()]);
    assert_eq!(code, 1, "{v}");
    let problem = v["file_problems"][0]["message"].as_str().unwrap();
    assert!(
        problem.contains("public.customers") && problem.contains("missing"),
        "{problem}"
    );

    // Not a backup at all.
    let out = p.run(&[
        "backup",
        "verify",
        p.root().join("migrations").to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("is not a dbsage backup"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn restore_into_a_new_database_then_replace_a_protected_environment() {
    let p = shop("protected = true\n");
    let id = backup_id(&p);
    let (v, code) = p.json(&["restore", &id, "--env", "test", "--into", "shop_check"]);
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["database"], "shop_check");
    assert_eq!(v["comparison"]["tables"], 6);
    assert!(v["failures"].as_array().unwrap().is_empty());

    p.client().batch_execute("truncate order_lines").unwrap();
    // Protected: without a terminal to type the name on, refused (exit 3), nothing dropped.
    let out = p.run(&["restore", "latest", "--env", "test", "--replace"]);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("without confirmation"),
        "{}",
        stderr(&out)
    );
    let n: i64 = p
        .client()
        .query_one("select count(*) from customers", &[])
        .unwrap()
        .get(0);
    assert_eq!(n, 300);

    let out = p.run(&["restore", &id, "--env", "test", "--replace", "--yes"]);
    assert!(out.status.success(), "{}\n{}", stdout(&out), stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("backed up `test` first"), "{text}");
    let lines: i64 = p
        .client()
        .query_one("select count(*) from order_lines", &[])
        .unwrap()
        .get(0);
    assert_eq!(lines, 2700);
    // Two backups now: the one restored and the safety copy taken before the replace.
    let (list, _) = p.json(&["backup", "list"]);
    assert_eq!(list["backups"].as_array().unwrap().len(), 2);
}

#[test]
fn ctrl_c_mid_backup_removes_the_unfinished_folder_and_no_password_reaches_pg_dump() {
    let p = shop("");
    // pg_dump locks every table it dumps, a partitioned parent too: hold that lock so pg_dump
    // waits with its folder created.
    let mut holder = p.client();
    // Committed first: in one simple query, the BEGIN would pull the CREATE into the open
    // transaction, and pg_dump's snapshot would not see the table at all.
    holder
        .batch_execute(
            "create table events (at timestamptz not null, kind text) partition by range (at)",
        )
        .unwrap();
    holder
        .batch_execute("begin; lock table events in access exclusive mode;")
        .unwrap();
    let child = p
        .cmd()
        .args(["backup", "--env", "test"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let backups = p.root().join(".dbsage/backups/test");
    let deadline = Instant::now() + Duration::from_secs(30);
    let pg_dump = loop {
        assert!(Instant::now() < deadline, "pg_dump never started");
        let found = common_pg_dump_pid(&backups);
        if let Some(pid) = found {
            break pid;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    std::thread::sleep(Duration::from_millis(300));
    let environ = std::fs::read(format!("/proc/{pg_dump}/environ")).unwrap_or_default();
    let environ = String::from_utf8_lossy(&environ).replace('\0', "\n");
    let cmdline =
        String::from_utf8_lossy(&std::fs::read(format!("/proc/{pg_dump}/cmdline")).unwrap())
            .replace('\0', " ");
    let password = p.cluster.password();
    assert!(
        environ.contains("PGPASSFILE=") && !environ.contains("PGPASSWORD"),
        "{environ}"
    );
    assert!(
        !environ.contains(password) && !cmdline.contains(password),
        "{cmdline}"
    );
    assert!(
        std::fs::read_dir(&backups).unwrap().count() == 1,
        "the folder exists mid-backup"
    );

    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(130), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("unfinished backup folder"),
        "{}",
        stderr(&out)
    );
    assert_eq!(
        std::fs::read_dir(&backups).unwrap().count(),
        0,
        "partial folder removed"
    );
    holder.batch_execute("rollback").unwrap();
}

/// The pid of a pg_dump writing under `dir`.
fn common_pg_dump_pid(dir: &std::path::Path) -> Option<u32> {
    let needle = dir.to_string_lossy().into_owned();
    for entry in std::fs::read_dir("/proc").ok()?.flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        // `comm`, not the command line: pg_dumpall (roles, written first) matches "pg_dump" too.
        let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
        let cmd = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
        let cmd = String::from_utf8_lossy(&cmd).replace('\0', " ");
        if comm.trim_end() == "pg_dump" && cmd.contains(&needle) {
            return Some(pid);
        }
    }
    None
}

fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap().flatten() {
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}
