//! `dbsage import` / `export` through the binary (the pipeline itself is tested in dbsage-import).

use crate::common;

use common::{stderr, stdout, TestProject};

fn report(p: &TestProject, args: &[&str]) -> (serde_json::Value, i32) {
    let out = p
        .cmd()
        .args(args)
        .args(["--report", "json"])
        .output()
        .unwrap();
    let value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}\n{}", stdout(&out), stderr(&out)));
    (value, out.status.code().unwrap())
}

#[test]
fn import_upserts_idempotently_and_rejects_bad_rows_with_their_lines() {
    let p = TestProject::new();
    p.client()
        .batch_execute(
            "create table users (id bigint primary key, email text not null unique, age int)",
        )
        .unwrap();
    let csv = p.root().join("users.csv");
    std::fs::write(&csv, "id,email,age\n1,a@x.io,30\n2,b@x.io,41\n").unwrap();
    let (r, code) = report(
        &p,
        &[
            "import",
            "users.csv",
            "--into",
            "public.users",
            "--key",
            "email",
        ],
    );
    assert_eq!(code, 0, "{r}");
    assert_eq!(
        (r["source_rows"].as_u64(), r["inserted"].as_u64()),
        (Some(2), Some(2))
    );
    let (r, code) = report(
        &p,
        &[
            "import",
            "users.csv",
            "--into",
            "public.users",
            "--key",
            "email",
        ],
    );
    assert_eq!(code, 0);
    assert_eq!(
        (r["updated"].as_u64(), r["unchanged"].as_u64()),
        (Some(0), Some(2)),
        "{r}"
    );

    std::fs::write(&csv, "id,email,age\n3,c@x.io,thirty\n4,d@x.io,22\n").unwrap();
    let (r, code) = report(&p, &["import", "users.csv", "--into", "users"]);
    assert_eq!(code, 1, "{r}");
    assert_eq!(r["rejects"][0]["line"], 2);
    assert_eq!(r["rejects"][0]["column"], "age");
    assert_eq!(r["merged"], false);
    let count: i64 = p
        .client()
        .query_one("select count(*) from users", &[])
        .unwrap()
        .get(0);
    assert_eq!(count, 2, "nothing merged with the default error budget");
    let out = p.run(&[
        "import",
        "users.csv",
        "--into",
        "users",
        "--max-errors",
        "1",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stdout(&out).contains("1 inserted"), "{}", stdout(&out));
}

#[test]
fn export_then_import_round_trips_through_stdin() {
    let p = TestProject::new();
    p.client()
        .batch_execute(
            "create table src (id int primary key, note text, tags jsonb);
             insert into src values (1, 'a,b \"quoted\"', '{\"k\": [1, 2]}'), (2, null, null);
             create table dst (like src including all);",
        )
        .unwrap();
    let out = p.run(&["export", "src", "--format", "ndjson"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let mut child = p
        .cmd()
        .args(["import", "-", "--into", "dst", "--format", "ndjson"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child.stdin.take().unwrap().write_all(&out.stdout).unwrap();
    let done = child.wait_with_output().unwrap();
    assert_eq!(done.status.code(), Some(0), "{}", stdout(&done));
    let diff: i64 = p
        .client()
        .query_one("select count(*) from ((table src except all table dst) union all (table dst except all table src)) d", &[])
        .unwrap()
        .get(0);
    assert_eq!(diff, 0);
}
