//! Upsert, insert and skip-existing; idempotent re-runs; composite keys; dry runs; --map.

use crate::common;
use common::*;
use dbsage_import::Mode;

const USERS: &str = "CREATE TABLE users (
    id bigint PRIMARY KEY,
    email text NOT NULL UNIQUE,
    name text,
    age int CHECK (age >= 0),
    created timestamptz NOT NULL DEFAULT now());";

#[test]
fn upsert_is_idempotent_and_counts_changes() {
    let mut db = db(USERS);
    let mut o = opts("public.users");
    o.key = Some(vec!["email".into()]);
    let data = b"id,email,name,age\n1,a@x,Ann,30\n2,b@x,Bob,\n3,c@x,\"Cy, Jr\",41\n";
    let r = ok(db.import("users.csv", data, &o));
    assert_eq!(counts(&r), (3, 0, 0, 0));
    assert!(r.merged);
    assert_eq!(r.source_rows, 3);
    // Re-run: nothing changes, nothing is updated.
    let r = ok(db.import("users.csv", data, &o));
    assert_eq!(counts(&r), (0, 0, 3, 0));
    let xmin_before = db.rows("SELECT xmin::text FROM users ORDER BY id");
    let r = ok(db.import("users.csv", data, &o));
    assert_eq!(counts(&r), (0, 0, 3, 0));
    assert_eq!(
        db.rows("SELECT xmin::text FROM users ORDER BY id"),
        xmin_before,
        "unchanged rows must not be rewritten"
    );
    // One change, one new row.
    let data2 = b"id,email,name,age\n1,a@x,Ann,31\n2,b@x,Bob,\n4,d@x,Di,5\n";
    let r = ok(db.import("users.csv", data2, &o));
    assert_eq!(counts(&r), (1, 1, 1, 0));
    assert_eq!(
        db.rows("SELECT id, email, name, age FROM users ORDER BY id"),
        vec![
            "(1,a@x,Ann,31)",
            "(2,b@x,Bob,)",
            "(3,c@x,\"Cy, Jr\",41)",
            "(4,d@x,Di,5)"
        ]
    );
}

#[test]
fn insert_mode_rejects_existing_keys_and_skip_existing_leaves_them() {
    let mut db = db(USERS);
    db.client
        .batch_execute("INSERT INTO users (id, email, name) VALUES (1, 'a@x', 'Old')")
        .unwrap();
    let data = b"id,email,name\n1,a@x,New\n2,b@x,Bob\n";
    // Insert mode checks the primary key.
    let mut insert = opts("users");
    insert.mode = Some(Mode::Insert);
    let r = rejected(db.import("u.csv", data, &insert));
    assert_eq!(r.rejected, 1);
    assert_eq!(r.rejects[0].line, 2);
    assert!(
        r.rejects[0].reason.contains("already exists"),
        "{:?}",
        r.rejects
    );
    assert_eq!(db.count("users"), 1);

    let mut o = opts("users");
    o.mode = Some(Mode::SkipExisting);
    let r = ok(db.import("u.csv", data, &o));
    assert_eq!(counts(&r), (1, 0, 1, 0));
    assert_eq!(
        db.rows("SELECT name FROM users ORDER BY id"),
        vec!["(Old)", "(Bob)"]
    );

    // Upsert with the default key (primary key).
    o.mode = Some(Mode::Upsert);
    let r = ok(db.import("u.csv", data, &o));
    assert_eq!(counts(&r), (0, 1, 1, 0));
    assert_eq!(
        db.rows("SELECT name FROM users ORDER BY id"),
        vec!["(New)", "(Bob)"]
    );
}

#[test]
fn insert_without_any_key_appends() {
    let mut db = db("CREATE TABLE log (id bigint GENERATED ALWAYS AS IDENTITY, msg text NOT NULL)");
    let r = ok(db.import("l.csv", b"msg\nhello\nhello\n", &opts("log")));
    assert_eq!(counts(&r), (2, 0, 0, 0));
    let r = ok(db.import("l.csv", b"msg\nhello\n", &opts("log")));
    assert_eq!(counts(&r), (1, 0, 0, 0));
    assert_eq!(db.count("log"), 3);
}

#[test]
fn composite_keys() {
    let mut db =
        db("CREATE TABLE stock (shop text, sku text, qty int NOT NULL, PRIMARY KEY (shop, sku))");
    let mut o = opts("stock");
    o.key = Some(vec!["sku".into(), "shop".into()]);
    let r = ok(db.import("s.csv", b"shop,sku,qty\na,x,1\na,y,2\nb,x,3\n", &o));
    assert_eq!(counts(&r), (3, 0, 0, 0));
    let r = ok(db.import("s.csv", b"shop,sku,qty\na,x,1\na,y,5\nb,y,3\n", &o));
    assert_eq!(counts(&r), (1, 1, 1, 0));
    // Same (shop, sku) twice in one file: both rejected, nothing merged.
    let r = rejected(db.import("s.csv", b"shop,sku,qty\na,x,9\nc,c,1\na,x,8\n", &o));
    assert_eq!(r.rejected, 2);
    assert_eq!(
        r.rejects.iter().map(|r| r.line).collect::<Vec<_>>(),
        vec![2, 4]
    );
    assert!(
        r.rejects[0]
            .reason
            .contains("duplicate key (sku, shop)=(x,a)"),
        "{:?}",
        r.rejects[0]
    );
    assert!(
        r.rejects[0].reason.contains("lines 2, 4"),
        "{:?}",
        r.rejects[0]
    );
    assert_eq!(counts(&r), (1, 0, 0, 2));
    assert_eq!(db.count("stock"), 4);
}

#[test]
fn key_needs_a_unique_index() {
    let mut db = db(USERS);
    let mut o = opts("users");
    o.key = Some(vec!["name".into()]);
    let msg = usage(db.import("u.csv", b"id,email,name\n1,a,b\n", &o));
    assert!(msg.contains("no unique index"), "{msg}");
    o.key = Some(vec!["nope".into()]);
    assert!(usage(db.import("u.csv", b"id,email,name\n1,a,b\n", &o)).contains("no such column"));
}

#[test]
fn dry_run_changes_nothing() {
    let mut db = db(USERS);
    db.client
        .batch_execute(
            "INSERT INTO users (id, email, name) VALUES (1, 'a@x', 'Old'), (2, 'b@x', 'Same')",
        )
        .unwrap();
    let mut o = opts("users");
    o.key = Some(vec!["id".into()]);
    o.dry_run = true;
    let before = db.rows("SELECT * FROM users ORDER BY id");
    let r = ok(db.import(
        "u.csv",
        b"id,email,name\n1,a@x,New\n2,b@x,Same\n3,c@x,C\n",
        &o,
    ));
    assert_eq!(counts(&r), (1, 1, 1, 0));
    assert!(r.dry_run && !r.merged);
    assert_eq!(db.rows("SELECT * FROM users ORDER BY id"), before);
    // No temporary tables survive.
    assert_eq!(
        db.rows("SELECT relname FROM pg_class WHERE relname LIKE 'dbsage_import%'"),
        Vec::<String>::new()
    );
}

#[test]
fn map_renames_columns_and_header_names_match_case_insensitively() {
    let mut db = db(USERS);
    let mut o = opts("users");
    o.map = vec![("E-Mail".into(), "email".into())];
    let r = ok(db.import("u.csv", b"ID,E-Mail,Name\n1,a@x,Ann\n", &o));
    assert_eq!(counts(&r), (1, 0, 0, 0));
    assert_eq!(
        db.rows("SELECT id, email, name FROM users"),
        vec!["(1,a@x,Ann)"]
    );
}

#[test]
fn stdin_reader_with_format_and_no_header() {
    let mut db = db("CREATE TABLE t (a int PRIMARY KEY, b text)");
    let mut o = opts("t");
    o.header = Some(false);
    o.format = Some(dbsage_import::Format::Tsv);
    let reader = Box::new(std::io::Cursor::new(b"1\tx y\n2\t\n".to_vec()));
    let r = dbsage_import::import(
        &mut db.client,
        dbsage_import::Source::Reader(reader),
        &o,
        &dbsage_import::NoProgress,
    )
    .unwrap();
    assert_eq!(counts(&r), (2, 0, 0, 0));
    assert_eq!(
        db.rows("SELECT * FROM t ORDER BY a"),
        vec!["(1,\"x y\")", "(2,)"]
    );
}

#[test]
fn progress_is_reported() {
    use std::sync::atomic::{AtomicU64, Ordering};
    struct Last(AtomicU64, AtomicU64);
    impl dbsage_import::Progress for Last {
        fn on_progress(&self, rows: u64, bytes: u64, total: Option<u64>) {
            self.0.store(rows, Ordering::SeqCst);
            self.1.store(bytes, Ordering::SeqCst);
            assert!(total.is_some());
        }
    }
    let mut db = db("CREATE TABLE t (a int)");
    let mut data = b"a\n".to_vec();
    for i in 0..20000 {
        data.extend_from_slice(format!("{i}\n").as_bytes());
    }
    let path = db.file("t.csv", &data);
    let p = Last(AtomicU64::new(0), AtomicU64::new(0));
    ok(dbsage_import::import(
        &mut db.client,
        dbsage_import::Source::Path(path),
        &opts("t"),
        &p,
    ));
    assert_eq!(p.0.load(Ordering::SeqCst), 20000);
    assert_eq!(p.1.load(Ordering::SeqCst), data.len() as u64);
}

#[test]
fn duplicate_keys_found_by_the_merge_into_an_empty_table_are_rejected() {
    let mut db = db("CREATE TABLE t (id int PRIMARY KEY, v text)");
    let data = b"id,v\n1,a\n2,b\n1,c\n3,d\n";
    for mode in [Mode::Upsert, Mode::Insert] {
        let mut o = opts("t");
        o.mode = Some(mode);
        let r = rejected(db.import("t.csv", data, &o));
        assert_eq!(
            r.rejects.iter().map(|j| j.line).collect::<Vec<_>>(),
            vec![2, 4]
        );
        assert_eq!(counts(&r), (2, 0, 0, 2));
        assert_eq!(db.count("t"), 0);
        o.max_errors = Some(2);
        let r = ok(db.import("t.csv", data, &o));
        assert_eq!(counts(&r), (2, 0, 0, 2));
        assert_eq!(
            db.rows("SELECT * FROM t ORDER BY id"),
            vec!["(2,b)", "(3,d)"]
        );
        db.client.batch_execute("TRUNCATE t").unwrap();
    }
    // Into existing rows, identical duplicates are still caught (checked up front).
    db.client
        .batch_execute("INSERT INTO t VALUES (1, 'a')")
        .unwrap();
    let mut o = opts("t");
    o.mode = Some(Mode::Upsert);
    let r = rejected(db.import("t.csv", b"id,v\n1,a\n1,a\n", &o));
    assert_eq!(r.rejected, 2);
}
