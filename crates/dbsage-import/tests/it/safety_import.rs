//! Issue 8's fault and hostile-input cases for import/export (crate level): every value kept
//! or rejected under its column's typmod, honest JSON parse errors, the record size limit,
//! reject-file paths, and the server's own words in errors.

use crate::common;

use common::*;
use dbsage_import::{export, ExportSource, Format, ImportError, NoProgress, Source};

/// Every type that takes a modifier, plus a domain over one and an array of one.
const TYPMOD_TABLE: &str = "
    CREATE DOMAIN code3 AS varchar(3);
    CREATE TABLE m (
        id int PRIMARY KEY,
        cur char(3),
        code varchar(3),
        amount numeric(6,2),
        flags bit(3),
        vb varbit(3),
        ts timestamp(0),
        tstz timestamptz(2),
        tm time(1),
        iv interval(0),
        ym interval year to month,
        amounts numeric(4,1)[],
        dcode code3
    );
    SET timezone = 'UTC';";

const HEADER: &str = "id,cur,code,amount,flags,vb,ts,tstz,tm,iv,ym,amounts,dcode\n";

/// `(value row, column the row must be rejected for)`: each row carries one bad value.
const BAD_ROWS: &[(&str, &str)] = &[
    ("3,EURO,,,,,,,,,,,", "cur"),
    ("4,,abcd,,,,,,,,,,", "code"),
    ("5,,abc ,,,,,,,,,,", "code"),
    ("6,,,1.234,,,,,,,,,", "amount"),
    ("7,,,12345.6,,,,,,,,,", "amount"),
    ("8,,,,1011,,,,,,,,", "flags"),
    ("9,,,,10,,,,,,,,", "flags"),
    ("10,,,,,1010,,,,,,,", "vb"),
    ("11,,,,,,2024-01-02 03:04:05.5,,,,,,", "ts"),
    ("12,,,,,,,2024-01-02 03:04:05.123+00,,,,,", "tstz"),
    ("13,,,,,,,,03:04:05.15,,,,", "tm"),
    ("14,,,,,,,,,1 day 00:00:00.5,,,", "iv"),
    ("15,,,,,,,,,,1 year 3 days,,", "ym"),
    ("16,,,,,,,,,,,\"{1.25}\",", "amounts"),
    ("17,,,,,,,,,,,,abcd", "dcode"),
];

const GOOD_ROWS: &str = "1,EUR,abc,1234.50,101,10,2024-01-02 03:04:05,2024-01-02 03:04:05.12+00,03:04:05.1,1 day 02:00:03,1 year 2 mons,\"{1.5,2.0}\",xyz\n\
2,EU,ab,1.2,000,,,,,,,,\n";

fn typmod_file() -> String {
    let mut data = format!("{HEADER}{GOOD_ROWS}");
    for (row, _) in BAD_ROWS {
        data.push_str(row);
        data.push('\n');
    }
    data
}

#[test]
fn every_typmod_keeps_the_value_or_rejects_the_row() {
    let mut db = db(TYPMOD_TABLE);
    let data = typmod_file();
    let mut o = opts("m");
    o.max_errors = Some(BAD_ROWS.len() as u64);
    let r = ok(db.import("m.csv", data.as_bytes(), &o));
    assert_eq!(
        counts(&r),
        (2, 0, 0, BAD_ROWS.len() as u64),
        "{:#?}",
        r.rejects
    );
    for (i, (row, column)) in BAD_ROWS.iter().enumerate() {
        let line = i as u64 + 4;
        let reject = r
            .rejects
            .iter()
            .find(|j| j.line == line)
            .unwrap_or_else(|| panic!("line {line} ({row}) was not rejected: {:#?}", r.rejects));
        assert_eq!(reject.column.as_deref(), Some(*column), "{reject:?}");
    }
    let reason = |line: u64| {
        r.rejects
            .iter()
            .find(|j| j.line == line)
            .unwrap()
            .reason
            .clone()
    };
    assert!(
        reason(7).contains("numeric(6,2) would store this as 1.23 (rounded; --allow-rounding"),
        "{}",
        reason(7)
    );
    assert!(reason(6).contains("cut short"), "{}", reason(6));
    assert!(reason(4).contains("too long"), "{}", reason(4));
    // Stored exactly: `EUR` stays `EUR` (it was cut to `E`), padding is fine.
    assert_eq!(
        db.rows("SELECT cur, code, amount, flags, vb, ts, tstz, tm, iv, ym, amounts, dcode FROM m ORDER BY id"),
        vec![
            "(EUR,abc,1234.50,101,10,\"2024-01-02 03:04:05\",\"2024-01-02 03:04:05.12+00\",03:04:05.1,\"1 day 02:00:03\",\"1 year 2 mons\",\"{1.5,2.0}\",xyz)",
            "(\"EU \",ab,1.20,000,,,,,,,,)",
        ]
    );
}

#[test]
fn the_fast_path_and_the_diagnosis_agree_on_clean_typmod_data() {
    // Clean data never reaches the row-by-row diagnosis; the values must still be exact.
    let mut db = db(TYPMOD_TABLE);
    let r = ok(db.import(
        "m.csv",
        format!("{HEADER}{GOOD_ROWS}").as_bytes(),
        &opts("m"),
    ));
    assert_eq!(counts(&r), (2, 0, 0, 0));
    assert_eq!(
        db.rows("SELECT cur, amount, dcode FROM m ORDER BY id"),
        vec!["(EUR,1234.50,xyz)", "(\"EU \",1.20,)"]
    );
    // A re-run changes nothing: the typed values compare equal to the stored ones.
    let r = ok(
        db.import("m.csv", format!("{HEADER}{GOOD_ROWS}").as_bytes(), &{
            let mut o = opts("m");
            o.key = Some(vec!["id".into()]);
            o
        }),
    );
    assert_eq!(counts(&r), (0, 0, 2, 0));
}

#[test]
fn allow_rounding_accepts_rounding_but_never_cuts_strings() {
    let mut db = db(TYPMOD_TABLE);
    let data = format!(
        "{HEADER}1,,,1.234,,,2024-01-02 03:04:05.5,,03:04:05.15,,,\"{{1.25}}\",\n2,,abc ,,,,,,,,,,\n3,EURO,,,,,,,,,,,\n"
    );
    let mut o = opts("m");
    o.allow_rounding = true;
    o.max_errors = Some(2);
    let r = ok(db.import("m.csv", data.as_bytes(), &o));
    assert_eq!(counts(&r), (1, 0, 0, 2), "{:#?}", r.rejects);
    let lines: Vec<(u64, Option<String>)> = r
        .rejects
        .iter()
        .map(|j| (j.line, j.column.clone()))
        .collect();
    assert_eq!(
        lines,
        vec![(3, Some("code".into())), (4, Some("cur".into()))]
    );
    assert_eq!(
        db.rows("SELECT amount, ts, tm, amounts FROM m"),
        vec!["(1.23,\"2024-01-02 03:04:06\",03:04:05.2,{1.3})"]
    );
}

#[test]
fn json_typmod_values_are_checked_too() {
    let mut db = db(TYPMOD_TABLE);
    let data = b"{\"id\": 1, \"cur\": \"EUR\", \"amount\": 10.005}\n{\"id\": 2, \"cur\": \"USD\", \"amount\": 10.5}\n";
    let r = rejected(db.import("m.ndjson", data, &opts("m")));
    assert_eq!(r.rejects.len(), 1, "{:#?}", r.rejects);
    assert_eq!(
        (r.rejects[0].line, r.rejects[0].column.as_deref()),
        (1, Some("amount"))
    );
}

#[test]
fn csv_read_as_ndjson_is_a_parse_error_with_line_and_column() {
    let mut db = db("CREATE TABLE t (id int PRIMARY KEY, name text NOT NULL)");
    let mut o = opts("t");
    o.format = Some(Format::Ndjson);
    let e = db.import("t.csv", b"id,name\n1,alice\n", &o).unwrap_err();
    let message = e.to_string();
    assert!(matches!(e, ImportError::Parse(_)), "{e:?}");
    assert!(
        message.contains("invalid JSON at line 1, column 1: expected value"),
        "{message}"
    );
    assert!(!message.contains("missing required columns"), "{message}");
    assert_eq!(e.exit_code(), 1);
}

#[test]
fn json_array_errors_point_at_line_and_column() {
    let mut db = db("CREATE TABLE t (id int PRIMARY KEY, name text)");
    // Not an array at all.
    let e = db
        .import("t.json", b"\n  id,name\n", &opts("t"))
        .unwrap_err();
    assert!(
        e.to_string()
            .contains("invalid JSON at line 2, column 3: expected `[`"),
        "{e}"
    );
    // A broken element after good ones: a reject at its absolute position.
    let data = b"[\n  {\"id\": 1},\n  {\"id\": 2, \"name\": x}\n]\n";
    let r = rejected(db.import("t.json", data, &opts("t")));
    assert_eq!(r.rejects.len(), 1);
    assert_eq!(r.rejects[0].line, 3);
    assert!(
        r.rejects[0]
            .reason
            .contains("invalid JSON at line 3, column 21: expected value"),
        "{}",
        r.rejects[0].reason
    );
    // Content after the array.
    let e = db
        .import("t.json", b"[{\"id\": 1}]\n{\"id\": 2}\n", &opts("t"))
        .unwrap_err();
    assert!(
        e.to_string()
            .contains("invalid JSON at line 2, column 1: unexpected content after the end"),
        "{e}"
    );
}

#[test]
fn ndjson_bad_line_after_good_ones_is_a_reject_with_its_position() {
    let mut db = db("CREATE TABLE t (id int PRIMARY KEY, name text)");
    let data = b"{\"id\": 1}\n{\"id\": 2, \"name\": \"b\"\n";
    let r = rejected(db.import("t.ndjson", data, &opts("t")));
    assert_eq!(r.rejects[0].line, 2);
    assert!(
        r.rejects[0]
            .reason
            .contains("invalid JSON at line 2, column 21: EOF while parsing an object"),
        "{}",
        r.rejects[0].reason
    );
}

#[test]
fn oversized_records_are_rejected_and_copied_byte_for_byte() {
    let mut db = db("CREATE TABLE t (id int PRIMARY KEY, note text)");
    let big = "x".repeat(5000);
    for (name, line, data) in [
        (
            "t.csv",
            3,
            format!("id,note\n1,a\n2,\"{big}\nstill\"\n3,c\n"),
        ),
        (
            "t.ndjson",
            2,
            format!("{{\"id\": 1}}\n{{\"id\": 2, \"note\": \"{big}\"}}\n{{\"id\": 3}}\n"),
        ),
        (
            "t.json",
            2,
            format!("[{{\"id\": 1}},\n{{\"id\": 2, \"note\": \"{big}\"}},\n{{\"id\": 3}}]\n"),
        ),
    ] {
        db.client.batch_execute("TRUNCATE t").unwrap();
        let reject_path = db.dir.path().join(format!("rejects-{name}"));
        let mut o = opts("t");
        o.max_record_size = Some(1000);
        o.max_errors = Some(1);
        o.reject_file = Some(reject_path.clone());
        let r = ok(db.import(name, data.as_bytes(), &o));
        assert_eq!(counts(&r), (2, 0, 0, 1), "{name}: {:#?}", r.rejects);
        assert_eq!(r.rejects[0].line, line, "{name}");
        assert!(
            r.rejects[0]
                .reason
                .contains("larger than the limit of 1000 bytes (--max-record-size)"),
            "{name}: {}",
            r.rejects[0].reason
        );
        let written = std::fs::read_to_string(&reject_path).unwrap();
        assert!(
            written.contains(&big),
            "{name}: the reject file lost the record"
        );
    }
}

#[test]
fn reject_file_refuses_the_source_and_existing_files() {
    let mut db = db("CREATE TABLE t (id int PRIMARY KEY)");
    let source = db.file("t.csv", b"id\n1\nx\n");
    let mut o = opts("t");
    o.max_errors = Some(1);
    // The source itself, spelled differently, is refused even with --force.
    o.reject_file = Some(db.dir.path().join(".").join("t.csv"));
    o.force = true;
    let message = usage(dbsage_import::import(
        &mut db.client,
        Source::Path(source.clone()),
        &o,
        &NoProgress,
    ));
    assert!(message.contains("is the source file itself"), "{message}");
    assert_eq!(std::fs::read(&source).unwrap(), b"id\n1\nx\n");

    // An existing file is refused without --force and left as it was.
    let existing = db.file("bad.csv", b"precious\n");
    o.reject_file = Some(existing.clone());
    o.force = false;
    let message = usage(dbsage_import::import(
        &mut db.client,
        Source::Path(source.clone()),
        &o,
        &NoProgress,
    ));
    assert!(
        message.contains("already exists; pass --force"),
        "{message}"
    );
    assert_eq!(std::fs::read(&existing).unwrap(), b"precious\n");
    assert_eq!(db.count("t"), 0);

    // With --force it is replaced.
    o.force = true;
    let r = ok(dbsage_import::import(
        &mut db.client,
        Source::Path(source),
        &o,
        &NoProgress,
    ));
    assert_eq!(counts(&r), (1, 0, 0, 1));
    assert_eq!(std::fs::read(&existing).unwrap(), b"id\nx\n");
    // No temporary files are left beside it.
    let leftovers: Vec<_> = std::fs::read_dir(db.dir.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with(".dbsage-tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn an_export_query_failing_midway_shows_the_server_error() {
    let mut db = db("SELECT 1");
    let mut out = Vec::new();
    let e = export(
        &mut db.client,
        ExportSource::Query(
            "SELECT g, 1 / (g - 5000) AS x FROM generate_series(1, 10000) g".into(),
        ),
        Format::Csv,
        &mut out,
    )
    .unwrap_err();
    let message = e.to_string();
    assert!(message.contains("division by zero"), "{message}");
    assert!(message.contains("22012"), "{message}");
    assert!(!message.contains("db error"), "{message}");
}

#[test]
fn a_copy_error_shows_the_server_error() {
    // The server refuses the COPY itself (here: a byte WIN1252 does not define).
    let mut db = db("CREATE TABLE t (id int PRIMARY KEY, note text)");
    let mut o = opts("t");
    o.encoding = Some("WIN1252".into());
    let e = db.import("t.csv", b"id,note\n1,a\x81b\n", &o).unwrap_err();
    let message = e.to_string();
    assert!(
        message.contains("has no equivalent in encoding") && message.contains("22P05"),
        "{message}"
    );
    assert!(!message.contains("db error"), "{message}");
}

#[test]
fn a_report_of_nothing_merged_says_would() {
    let mut db = db("CREATE TABLE t (id int PRIMARY KEY, v text)");
    let mut o = opts("t");
    o.dry_run = true;
    let r = ok(db.import("t.csv", b"id,v\n1,a\n", &o));
    assert_eq!(
        r.counts_text(),
        "would insert 1, would update 0, 0 unchanged, 0 rejected"
    );
    o.dry_run = false;
    let r = ok(db.import("t.csv", b"id,v\n1,a\n", &o));
    assert_eq!(
        r.counts_text(),
        "1 inserted, 0 updated, 0 unchanged, 0 rejected"
    );
}
