//! Export, then import into an empty table: the same rows come back (CSV and NDJSON).

use crate::common;
use common::*;
use dbsage_import::{export, ExportSource, Format, ImportOptions, NoProgress, Source};
use proptest::prelude::*;

const TABLES: &str = "
CREATE TABLE src (id int PRIMARY KEY, t text, n numeric, b boolean, ts timestamptz, j jsonb, a int[], f float8);
CREATE TABLE dst (LIKE src INCLUDING ALL);";

fn text() -> impl Strategy<Value = Option<String>> {
    prop_oneof![
        Just(None),
        Just(Some(String::new())),
        "[a-z ,;\"'\\\\\t\r\n\u{e9}\u{1F600}]{0,12}".prop_map(Some),
    ]
}

#[derive(Debug, Clone)]
struct Row {
    t: Option<String>,
    n: Option<String>,
    b: Option<bool>,
    ts: Option<i64>,
    j: Option<String>,
    a: Option<Vec<Option<i32>>>,
    f: Option<f64>,
}

fn row() -> impl Strategy<Value = Row> {
    (
        text(),
        proptest::option::of("-?[0-9]{1,20}(\\.[0-9]{1,10})?"),
        proptest::option::of(any::<bool>()),
        proptest::option::of(-2_000_000_000i64..4_000_000_000i64),
        proptest::option::of(
            text().prop_map(|t| serde_json::json!({"k": t, "n": [1, null]}).to_string()),
        ),
        proptest::option::of(proptest::collection::vec(
            proptest::option::of(any::<i32>()),
            0..4,
        )),
        proptest::option::of(any::<f64>().prop_filter("finite", |f| f.is_finite())),
    )
        .prop_map(|(t, n, b, ts, j, a, f)| Row {
            t,
            n,
            b,
            ts,
            j,
            a,
            f,
        })
}

fn same_rows(db: &mut Db) -> bool {
    let diff: i64 = db
        .client
        .query_one(
            "SELECT (SELECT count(*) FROM (SELECT * FROM src EXCEPT ALL SELECT * FROM dst) x)
                  + (SELECT count(*) FROM (SELECT * FROM dst EXCEPT ALL SELECT * FROM src) y)",
            &[],
        )
        .unwrap()
        .get(0);
    diff == 0
}

#[test]
fn export_then_import_gives_the_same_rows() {
    let db = std::cell::RefCell::new(db(TABLES));
    let config = ProptestConfig {
        cases: 16,
        ..ProptestConfig::default()
    };
    proptest!(config, |(rows in proptest::collection::vec(row(), 0..20), ndjson in any::<bool>())| {
        let mut db = db.borrow_mut();
        let db = &mut *db;
        db.client.batch_execute("TRUNCATE src, dst").unwrap();
        for (i, r) in rows.iter().enumerate() {
            let n: Option<&str> = r.n.as_deref();
            let ts = r.ts.map(|s| s as f64);
            db.client.execute(
                "INSERT INTO src VALUES ($1, $2, $3::text::numeric, $4, to_timestamp($5), $6::text::jsonb, $7, $8)",
                &[&(i as i32), &r.t, &n, &r.b, &ts, &r.j, &r.a, &r.f],
            ).unwrap();
        }
        let format = if ndjson { Format::Ndjson } else { Format::Csv };
        let mut out = Vec::new();
        let n = export(&mut db.client, ExportSource::Table("src".into()), format, &mut out).unwrap();
        prop_assert_eq!(n, rows.len() as u64);
        let options = ImportOptions { table: "dst".into(), format: Some(format), ..Default::default() };
        let result = dbsage_import::import(&mut db.client, Source::Reader(Box::new(std::io::Cursor::new(out.clone()))), &options, &NoProgress);
        if rows.is_empty() && ndjson {
            prop_assert!(matches!(result, Err(dbsage_import::ImportError::EmptyInput(_))));
        } else {
            let report = result.unwrap();
            prop_assert_eq!(report.inserted, rows.len() as u64, "{}", String::from_utf8_lossy(&out));
            prop_assert!(same_rows(db), "{}", String::from_utf8_lossy(&out));
        }
    });
}

#[test]
fn export_query_and_formats() {
    let mut db = db("CREATE TABLE t (id int, v text); INSERT INTO t VALUES (1, 'a\"b'), (2, NULL), (3, 'x\ny');");
    let mut out = Vec::new();
    let n = export(
        &mut db.client,
        ExportSource::Query("SELECT * FROM t WHERE id > 1 ORDER BY id;".into()),
        Format::Csv,
        &mut out,
    )
    .unwrap();
    assert_eq!(n, 2);
    assert_eq!(String::from_utf8(out).unwrap(), "id,v\n2,\n3,\"x\ny\"\n");
    let mut out = Vec::new();
    let n = export(
        &mut db.client,
        ExportSource::Query("SELECT * FROM t ORDER BY id".into()),
        Format::Json,
        &mut out,
    )
    .unwrap();
    assert_eq!(n, 3);
    assert_eq!(
        String::from_utf8(out).unwrap(),
        "[\n{\"id\":1,\"v\":\"a\\\"b\"},\n{\"id\":2,\"v\":null},\n{\"id\":3,\"v\":\"x\\ny\"}\n]\n"
    );
    let e = export(
        &mut db.client,
        ExportSource::Table("missing".into()),
        Format::Csv,
        &mut Vec::new(),
    )
    .unwrap_err();
    assert_eq!(e.exit_code(), 2);
    // JSON export imports back.
    db.client.batch_execute("CREATE TABLE t2 (LIKE t)").unwrap();
    let mut out = Vec::new();
    export(
        &mut db.client,
        ExportSource::Table("t".into()),
        Format::Json,
        &mut out,
    )
    .unwrap();
    let options = ImportOptions {
        table: "t2".into(),
        format: Some(Format::Json),
        ..Default::default()
    };
    ok(dbsage_import::import(
        &mut db.client,
        Source::Reader(Box::new(std::io::Cursor::new(out))),
        &options,
        &NoProgress,
    ));
    assert_eq!(
        db.rows("SELECT * FROM t2 ORDER BY id"),
        db.rows("SELECT * FROM t ORDER BY id")
    );
}
