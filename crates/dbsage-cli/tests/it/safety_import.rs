//! Issue 8's fault and hostile-input cases for `dbsage import` / `export` through the binary:
//! atomic output files, reject-file paths, the server's words in errors, honest parse errors,
//! typmods, and a report that says "would" when nothing was merged.

use crate::common;

use common::{stderr, stdout, TestProject};

#[test]
fn a_failed_export_leaves_the_existing_file_untouched_and_says_why() {
    let p = TestProject::new();
    let target = p.root().join("out.csv");
    std::fs::write(&target, "precious\n").unwrap();
    let out = p.run(&[
        "export",
        "--query",
        "select g, 1 / (g - 50000) as x from generate_series(1, 100000) g",
        "--to",
        "out.csv",
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let text = format!("{}{}", stdout(&out), stderr(&out));
    assert!(
        text.contains("division by zero") && text.contains("22012"),
        "{text}"
    );
    assert!(!text.contains("db error"), "{text}");
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "precious\n");
    let names: Vec<String> = std::fs::read_dir(p.root())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        !names.iter().any(|n| n.starts_with(".dbsage-tmp")),
        "temporary file left behind: {names:?}"
    );

    // A successful export replaces it whole.
    let out = p.run(&[
        "export",
        "--query",
        "select g from generate_series(1, 3) g",
        "--to",
        "out.csv",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "g\n1\n2\n3\n");
}

#[test]
fn reject_file_refuses_the_source_and_existing_files_unless_forced() {
    let p = TestProject::new();
    p.client()
        .batch_execute("create table t (id int primary key)")
        .unwrap();
    std::fs::write(p.root().join("t.csv"), "id\n1\nx\n").unwrap();
    let import = |extra: &[&str]| {
        let mut args = vec!["import", "t.csv", "--into", "t", "--max-errors", "1"];
        args.extend_from_slice(extra);
        p.run(&args)
    };
    let out = import(&["--reject-file", "./t.csv", "--force"]);
    assert_eq!(out.status.code(), Some(2), "{}", stdout(&out));
    assert!(
        stderr(&out).contains("is the source file itself"),
        "{}",
        stderr(&out)
    );
    assert_eq!(
        std::fs::read_to_string(p.root().join("t.csv")).unwrap(),
        "id\n1\nx\n"
    );

    std::fs::write(p.root().join("bad.csv"), "precious\n").unwrap();
    let out = import(&["--reject-file", "bad.csv"]);
    assert_eq!(out.status.code(), Some(2), "{}", stdout(&out));
    assert!(
        stderr(&out).contains("already exists; pass --force"),
        "{}",
        stderr(&out)
    );
    assert_eq!(
        std::fs::read_to_string(p.root().join("bad.csv")).unwrap(),
        "precious\n"
    );

    let out = import(&["--reject-file", "bad.csv", "--force"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        std::fs::read_to_string(p.root().join("bad.csv")).unwrap(),
        "id\nx\n"
    );
}

#[test]
fn a_dry_run_report_says_would_insert_and_would_update() {
    let p = TestProject::new();
    p.client()
        .batch_execute("create table t (id int primary key, v text); insert into t values (1, 'a')")
        .unwrap();
    std::fs::write(p.root().join("t.csv"), "id,v\n1,changed\n2,new\n").unwrap();
    let out = p.run(&["import", "t.csv", "--into", "t", "--key", "id", "--dry-run"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains("would insert 1, would update 1, 0 unchanged, 0 rejected"),
        "{text}"
    );
    assert!(!text.contains("1 inserted"), "{text}");
}

#[test]
fn csv_given_as_json_is_a_parse_error_with_line_and_column() {
    let p = TestProject::new();
    p.client()
        .batch_execute("create table t (id int primary key, name text not null)")
        .unwrap();
    std::fs::write(p.root().join("t.ndjson"), "id,name\n1,alice\n").unwrap();
    let out = p.run(&["import", "t.ndjson", "--into", "t"]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    let err = stderr(&out);
    assert!(err.contains("invalid JSON at line 1, column 1"), "{err}");
    assert!(!err.contains("missing required columns"), "{err}");
}

#[test]
fn typmods_keep_every_value_and_allow_rounding_is_a_flag() {
    let p = TestProject::new();
    p.client()
        .batch_execute("create table t (id int primary key, cur char(3), amount numeric(6,2))")
        .unwrap();
    std::fs::write(p.root().join("t.csv"), "id,cur,amount\n1,EUR,1.234\n").unwrap();
    let out = p.run(&["import", "t.csv", "--into", "t"]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    assert!(
        stdout(&out).contains("would store this as 1.23"),
        "{}",
        stdout(&out)
    );
    let out = p.run(&["import", "t.csv", "--into", "t", "--allow-rounding"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let row: (String, String) = {
        let r = p
            .client()
            .query_one("select cur::text, amount::text from t", &[])
            .unwrap();
        (r.get(0), r.get(1))
    };
    assert_eq!(row, ("EUR".to_string(), "1.23".to_string()));
}

#[test]
fn max_record_size_rejects_a_long_record_with_a_clear_reason() {
    let p = TestProject::new();
    p.client()
        .batch_execute("create table t (id int primary key, note text)")
        .unwrap();
    let long = "y".repeat(3000);
    std::fs::write(p.root().join("t.csv"), format!("id,note\n1,{long}\n2,b\n")).unwrap();
    let out = p.run(&[
        "import",
        "t.csv",
        "--into",
        "t",
        "--max-record-size",
        "2K",
        "--max-errors",
        "1",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("larger than the limit of 2048 bytes (--max-record-size)"),
        "{}",
        stdout(&out)
    );
    let out = p.run(&["import", "t.csv", "--into", "t", "--max-record-size", "2X"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
}
