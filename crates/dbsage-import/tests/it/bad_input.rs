//! Bad input: every problem reported with its line, column, value and reason; the default
//! budget merges nothing; --max-errors merges the good rows; the reject file holds the
//! original records byte-for-byte.

use crate::common;
use common::*;
use dbsage_import::{Format, ImportError};

const SCHEMA: &str = "
CREATE TABLE teams (id int PRIMARY KEY);
INSERT INTO teams VALUES (1), (2);
CREATE TABLE players (
    id int PRIMARY KEY,
    name varchar(5) NOT NULL,
    score numeric(6,2) CHECK (score >= 0),
    team int REFERENCES teams,
    joined date);";

/// Line 1 header; each later record has one problem except lines 2, 6 and 9.
const PLAYERS: &[u8] = b"id,name,score,team,joined\n\
1,ann,1.5,1,2024-01-01\n\
2,bob,abc,1,2024-01-02\n\
3,,2,1,2024-01-03\n\
4,cy,-1,2,2024-01-04\n\
5,\"di\nx\",3,2,2024-01-05\n\
6,toolong,1,1,2024-01-06\n\
7,ed,1,9,2024-01-07\n\
8,fy,1,1,2024-02-30\n\
9,gus,1,1\n\
9,gus,2,1,2024-01-09\n\
10,hal,2,1,2024-01-10\n";

#[test]
fn every_problem_is_reported_and_nothing_is_merged() {
    let mut db = db(SCHEMA);
    let r = rejected(db.import("p.csv", PLAYERS, &opts("players")));
    assert_eq!(db.count("players"), 0);
    let got: Vec<(u64, Option<&str>, Option<&str>)> = r
        .rejects
        .iter()
        .map(|j| (j.line, j.column.as_deref(), j.value.as_deref()))
        .collect();
    assert_eq!(
        got,
        vec![
            (3, Some("score"), Some("abc")),
            (4, Some("name"), None),
            (5, Some("score"), Some("-1.00")),
            (8, Some("name"), Some("toolong")),
            (9, Some("team"), Some("(9)")),
            (10, Some("joined"), Some("2024-02-30")),
            (11, None, None),
        ],
        "{:#?}",
        r.rejects
    );
    let reasons: Vec<&str> = r.rejects.iter().map(|j| j.reason.as_str()).collect();
    assert!(
        reasons[0].contains("invalid input syntax for type numeric"),
        "{reasons:?}"
    );
    assert!(reasons[1].contains("NOT NULL"));
    assert!(reasons[2].contains("CHECK constraint \"players_score_check\""));
    assert!(reasons[3].contains("too long for type character varying(5)"));
    assert!(reasons[4].contains("foreign key \"players_team_fkey\" points nowhere"));
    assert!(reasons[5].contains("out of range"), "{reasons:?}");
    assert!(reasons[6].contains("expected 5 fields, found 4"));
    // Lines 2, 6 (a record spanning lines 6-7), 12 and 13 are good: 4 planned inserts.
    assert_eq!(counts(&r), (4, 0, 0, 7));
    assert_eq!(r.source_rows, 11);
}

#[test]
fn max_errors_merges_good_rows_and_writes_the_reject_file_byte_for_byte() {
    let mut db = db(SCHEMA);
    let mut o = opts("players");
    o.max_errors = Some(7);
    let reject_path = db.dir.path().join("rejects.csv");
    o.reject_file = Some(reject_path.clone());
    let r = ok(db.import("p.csv", PLAYERS, &o));
    assert!(r.merged);
    assert_eq!(counts(&r), (4, 0, 0, 7));
    assert_eq!(
        db.rows("SELECT id, name FROM players ORDER BY id"),
        vec!["(1,ann)", "(5,\"di\nx\")", "(9,gus)", "(10,hal)"]
    );
    let expected: &[u8] = b"id,name,score,team,joined\n\
2,bob,abc,1,2024-01-02\n\
3,,2,1,2024-01-03\n\
4,cy,-1,2,2024-01-04\n\
6,toolong,1,1,2024-01-06\n\
7,ed,1,9,2024-01-07\n\
8,fy,1,1,2024-02-30\n\
9,gus,1,1\n";
    assert_eq!(std::fs::read(&reject_path).unwrap(), expected);
    let log = std::fs::read_to_string(dbsage_import::reject_log_path(&reject_path)).unwrap();
    let lines: Vec<&str> = log.lines().collect();
    assert_eq!(lines.len(), 7, "{log}");
    assert!(
        lines[0].starts_with("line 3: column \"score\": value \"abc\": invalid input syntax"),
        "{log}"
    );
    assert!(lines[6].starts_with("line 11: expected 5 fields"), "{log}");

    // One more reject than the budget: nothing merged.
    db.client.batch_execute("TRUNCATE players").unwrap();
    o.force = true; // the reject file exists now
    o.max_errors = Some(6);
    rejected(db.import("p.csv", PLAYERS, &o));
    assert_eq!(db.count("players"), 0);
    // Ratio: 7 of 11 rejected.
    o.max_errors = None;
    o.max_error_ratio = Some(0.6);
    rejected(db.import("p.csv", PLAYERS, &o));
    o.max_error_ratio = Some(0.7);
    ok(db.import("p.csv", PLAYERS, &o));
    assert_eq!(db.count("players"), 4);
    o.max_error_ratio = Some(0.6);
    o.max_errors = Some(1);
    usage(db.import("p.csv", PLAYERS, &o));
}

#[test]
fn reject_file_from_stdin_keeps_crlf_and_multiline_records() {
    let mut db = db("CREATE TABLE t (a int, b text)");
    let data: &[u8] = b"a,b\r\n1,\"x\r\ny\"\r\nz,\"q\r\nw\"\r\n3,ok\r\n";
    let reject_path = db.dir.path().join("r.csv");
    let mut o = opts("t");
    o.format = Some(Format::Csv);
    o.max_errors = Some(1);
    o.reject_file = Some(reject_path.clone());
    let r = dbsage_import::import(
        &mut db.client,
        dbsage_import::Source::Reader(Box::new(std::io::Cursor::new(data.to_vec()))),
        &o,
        &dbsage_import::NoProgress,
    )
    .unwrap();
    assert_eq!(counts(&r), (2, 0, 0, 1));
    assert_eq!(r.rejects[0].line, 4);
    assert_eq!(
        std::fs::read(&reject_path).unwrap(),
        b"a,b\r\nz,\"q\r\nw\"\r\n"
    );
    assert_eq!(
        db.rows("SELECT * FROM t ORDER BY a"),
        vec!["(1,\"x\r\ny\")", "(3,ok)"]
    );
}

#[test]
fn unterminated_quote_is_reported_at_its_start_line() {
    let mut db = db("CREATE TABLE t (a int, b text)");
    let reject_path = db.dir.path().join("r.csv");
    let mut o = opts("t");
    o.reject_file = Some(reject_path.clone());
    let data: &[u8] = b"a,b\n1,x\n2,\"never closed\n3,y\n";
    let r = rejected(db.import("t.csv", data, &o));
    assert_eq!(r.rejects.len(), 1);
    assert_eq!(r.rejects[0].line, 3);
    assert!(r.rejects[0].reason.contains("unterminated quoted field"));
    assert_eq!(
        std::fs::read(&reject_path).unwrap(),
        b"a,b\n2,\"never closed\n3,y\n"
    );
    assert_eq!(db.count("t"), 0);
}

#[test]
fn invalid_utf8_reports_the_byte_offset_and_bom_is_skipped() {
    let mut db = db("CREATE TABLE t (a int, b text)");
    let mut data = b"\xEF\xBB\xBFa,b\r\n1,caf\xC3\xA9\r\n2,bad\xFF\r\n".to_vec();
    let r = rejected(db.import("t.csv", &data, &opts("t")));
    assert_eq!(r.rejects.len(), 1);
    assert_eq!(r.rejects[0].line, 3);
    // BOM (3) + "a,b\r\n" (5) + "1,café\r\n" (9) + "2,bad" (5) = 22
    assert!(
        r.rejects[0]
            .reason
            .contains("invalid UTF-8 at byte offset 22"),
        "{:?}",
        r.rejects[0]
    );
    data.truncate(data.len() - 10);
    let r = ok(db.import("t.csv", &data, &opts("t")));
    assert_eq!(counts(&r), (1, 0, 0, 0));
    assert_eq!(db.rows("SELECT b FROM t"), vec!["(café)"]);
}

#[test]
fn latin1_encoding_is_converted() {
    let mut db = db("CREATE TABLE t (a int, b text)");
    let mut o = opts("t");
    o.encoding = Some("latin1".into());
    ok(db.import("t.csv", b"a,b\n1,caf\xE9\n", &o));
    assert_eq!(db.rows("SELECT b FROM t"), vec!["(café)"]);
    o.encoding = Some("SJIS".into());
    usage(db.import("t.csv", b"a,b\n", &o));
    o.encoding = Some("klingon".into());
    usage(db.import("t.csv", b"a,b\n", &o));
}

#[test]
fn empty_and_header_only_files() {
    let mut db = db("CREATE TABLE t (a int, b text)");
    let e = db.import("t.csv", b"", &opts("t")).unwrap_err();
    assert!(matches!(e, ImportError::EmptyInput(_)), "{e:?}");
    assert_eq!(e.exit_code(), 1);
    let r = ok(db.import("t.csv", b"a,b\n", &opts("t")));
    assert_eq!((r.source_rows, r.merged), (0, true));
    let r = ok(db.import("t.csv", b"\xEF\xBB\xBFa,b\r\n\r\n", &opts("t")));
    assert_eq!(r.source_rows, 0);
    let e = db.import("t.ndjson", b"", &opts("t")).unwrap_err();
    assert!(matches!(e, ImportError::EmptyInput(_)));
}

#[test]
fn unknown_and_missing_columns_are_usage_errors() {
    let mut db = db("CREATE TABLE t (id int NOT NULL, b text, c text DEFAULT 'x')");
    let msg = usage(db.import("t.csv", b"id,b,zz,yy\n1,2,3,4\n", &opts("t")));
    assert!(msg.contains("\"zz\", \"yy\""), "{msg}");
    assert!(msg.contains("public.t has columns: id, b, c"), "{msg}");
    let msg = usage(db.import("t.csv", b"b,c\nx,y\n", &opts("t")));
    assert!(msg.contains("missing required columns: \"id\""), "{msg}");
    let msg = usage(db.import("t.csv", b"id\n1\n", &opts("nope")));
    assert!(msg.contains("unknown table"), "{msg}");
    let msg = usage(db.import("t.csv", b"id,id\n1,1\n", &opts("t")));
    assert!(msg.contains("twice"), "{msg}");
}

#[test]
fn hostile_header_names_stay_names() {
    let mut db = db("CREATE TABLE users (id int); INSERT INTO users VALUES (1);
                     CREATE TABLE t (id int, \"x\"\"; drop table users; --\" text)");
    let msg = usage(db.import(
        "u.csv",
        b"id,\"x\"\"; drop table users; --\"\n1,a\n",
        &opts("users"),
    ));
    assert!(msg.contains("unknown columns"), "{msg}");
    // The same name as a real column is imported into that column.
    let r = ok(db.import(
        "t.csv",
        b"id,\"x\"\"; drop table users; --\"\n1,a\n",
        &opts("t"),
    ));
    assert_eq!(counts(&r), (1, 0, 0, 0));
    assert_eq!(db.rows("SELECT * FROM t"), vec!["(1,a)"]);
    assert_eq!(db.count("users"), 1);
    // Hostile table names too.
    usage(db.import("t.csv", b"id\n1\n", &opts("t; drop table users")));
    assert_eq!(db.count("users"), 1);
}

#[test]
fn nulls_empty_strings_and_null_markers() {
    let mut db = db("CREATE TABLE t (a int, b text)");
    ok(db.import("t.csv", b"a,b\n1,\n2,\"\"\n,x\n", &opts("t")));
    assert_eq!(
        db.rows("SELECT a, b IS NULL, b FROM t ORDER BY a NULLS LAST"),
        vec!["(1,t,)", "(2,f,\"\")", "(,f,x)"]
    );
    let mut o = opts("t");
    o.null_marker = Some("NULL".into());
    o.delimiter = Some(b';');
    db.client.batch_execute("TRUNCATE t").unwrap();
    ok(db.import("t.txt", b"a;b\n1;NULL\n2;\"NULL\"\n3;\n", &o));
    assert_eq!(
        db.rows("SELECT a, b IS NULL, b FROM t ORDER BY a"),
        vec!["(1,t,)", "(2,f,NULL)", "(3,f,\"\")"]
    );
}

#[test]
fn ndjson_objects_nested_json_and_bad_lines() {
    let mut db = db("CREATE TABLE ev (id int PRIMARY KEY, kind text NOT NULL, payload jsonb, tags text[], n numeric)");
    let data: &[u8] = b"{\"id\": 1, \"kind\": \"a\", \"payload\": {\"x\": [1, {\"y\": null}]}, \"tags\": [\"p q\", \"r\"], \"n\": 12345678901234567890.123}\n\
[1, 2]\n\
\n\
{\"id\": 3, \"kind\": {\"nested\": true}}\n\
{\"id\": 4, \"kind\": \"d\", \"payload\": \"just a string\"}\n\
{\"id\": 5, \"kind\": \"e\", \"payload\": null\n\
\"str\"\n";
    let reject_path = db.dir.path().join("r.ndjson");
    let mut o = opts("ev");
    o.reject_file = Some(reject_path.clone());
    let r = rejected(db.import("ev.ndjson", data, &o));
    let lines: Vec<u64> = r.rejects.iter().map(|j| j.line).collect();
    assert_eq!(lines, vec![2, 4, 6, 7], "{:#?}", r.rejects);
    assert!(r.rejects[0]
        .reason
        .contains("expected a JSON object, found an array"));
    assert!(r.rejects[1]
        .reason
        .contains("nested JSON object cannot go into column \"kind\""));
    assert_eq!(r.rejects[1].column.as_deref(), Some("kind"));
    assert!(r.rejects[2].reason.contains("invalid JSON"));
    assert!(r.rejects[3].reason.contains("found a string"));
    assert_eq!(
        std::fs::read(&reject_path).unwrap(),
        b"[1, 2]\n{\"id\": 3, \"kind\": {\"nested\": true}}\n{\"id\": 5, \"kind\": \"e\", \"payload\": null\n\"str\"\n"
    );
    o.max_errors = Some(4);
    o.force = true; // the reject file exists now
    let r = ok(db.import("ev.ndjson", data, &o));
    assert_eq!(counts(&r), (2, 0, 0, 4));
    assert_eq!(
        db.rows("SELECT id, payload, tags, n FROM ev ORDER BY id"),
        vec![
            "(1,\"{\"\"x\"\": [1, {\"\"y\"\": null}]}\",\"{\"\"p q\"\",r}\",12345678901234567890.123)",
            "(4,\"\"\"just a string\"\"\",,)"
        ]
    );
    let msg = usage(db.import(
        "ev.ndjson",
        b"{\"id\": 9, \"kind\": \"k\", \"bogus\": 1}\n",
        &opts("ev"),
    ));
    assert!(
        msg.contains("unknown keys") && msg.contains("\"bogus\""),
        "{msg}"
    );
}

#[test]
fn json_array_format() {
    let mut db = db("CREATE TABLE t (id int PRIMARY KEY, v text)");
    let data: &[u8] =
        b"[\n  {\"id\": 1, \"v\": \"a\"},\n  {\"id\": \"x\", \"v\": \"b\"},\n  {\"id\": 3}\n]\n";
    let reject_path = db.dir.path().join("r.json");
    let mut o = opts("t");
    o.max_errors = Some(1);
    o.reject_file = Some(reject_path.clone());
    let r = ok(db.import("t.json", data, &o));
    assert_eq!(counts(&r), (2, 0, 0, 1));
    assert_eq!(r.rejects[0].line, 3);
    assert_eq!(
        std::fs::read(&reject_path).unwrap(),
        b"[\n{\"id\": \"x\", \"v\": \"b\"}\n]\n"
    );
    assert_eq!(
        db.rows("SELECT * FROM t ORDER BY id"),
        vec!["(1,a)", "(3,)"]
    );
}

#[test]
fn self_referencing_foreign_keys_may_point_into_the_file() {
    let mut db = db("CREATE TABLE node (id int PRIMARY KEY, parent int REFERENCES node)");
    let r = ok(db.import("n.csv", b"id,parent\n2,1\n1,\n", &opts("node")));
    assert_eq!(counts(&r), (2, 0, 0, 0));
    let r = rejected(db.import("n.csv", b"id,parent\n3,7\n", &opts("node")));
    assert_eq!(r.rejects[0].column.as_deref(), Some("parent"));
}
