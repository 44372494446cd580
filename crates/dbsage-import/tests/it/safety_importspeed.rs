//! Issue 8, import speed: an upsert joins its rows with the target in one MERGE instead of
//! probing (and locking) each existing row through ON CONFLICT, and proves an integer key
//! unique while streaming instead of a server-side aggregation. What must not change: counts
//! that reconcile, duplicate keys rejected, a re-run that updates (and touches) nothing.

use crate::common;
use common::*;
use dbsage_import::Mode;

fn upsert(table: &str) -> dbsage_import::ImportOptions {
    let mut o = opts(table);
    o.mode = Some(Mode::Upsert);
    o
}

/// ON CONFLICT DO UPDATE … WHERE (changed) still locks every conflicting row, so a re-run
/// waited for other sessions' row locks and left a lock mark (xmax) on every unchanged row.
#[test]
fn a_rerun_neither_locks_nor_waits_for_the_rows_it_leaves_unchanged() {
    let mut db = db("CREATE TABLE t (id bigint PRIMARY KEY, v text, n numeric(8,2))");
    let data = b"id,v,n\n1,a,1.50\n2,b,2\n3,c,\n";
    let o = upsert("t");
    assert_eq!(counts(&ok(db.import("t.csv", data, &o))), (3, 0, 0, 0));
    db.client.batch_execute("VACUUM FREEZE t").unwrap();

    assert_eq!(counts(&ok(db.import("t.csv", data, &o))), (0, 0, 3, 0));
    assert_eq!(
        db.rows("SELECT id FROM t WHERE xmax::text <> '0' ORDER BY id"),
        Vec::<String>::new(),
        "a re-run must leave unchanged rows as they were, not even locked"
    );

    // Another session holds a row lock on row 2; a re-run that changes only row 1 must not wait.
    db.client.batch_execute("SET lock_timeout = '2s'").unwrap();
    let mut locker = db.another_session();
    let mut held = locker.transaction().unwrap();
    held.batch_execute("SELECT * FROM t WHERE id = 2 FOR UPDATE")
        .unwrap();
    let changed = b"id,v,n\n1,A,1.50\n2,b,2\n3,c,\n";
    let r = db.import("t.csv", changed, &o);
    held.rollback().unwrap();
    assert_eq!(counts(&ok(r)), (0, 1, 2, 0));
    assert_eq!(
        db.rows("SELECT id, v, n FROM t ORDER BY id"),
        vec!["(1,A,1.50)", "(2,b,2.00)", "(3,c,)"]
    );
}

/// A value the column rounds (accepted with --allow-rounding) is compared as it is stored: a
/// re-run of the same file is not an update.
#[test]
fn a_rounded_value_is_not_an_update_on_a_rerun() {
    let mut db = db("CREATE TABLE t (id int PRIMARY KEY, n numeric(6,2), at time(0))");
    let mut o = upsert("t");
    o.allow_rounding = true;
    let data = b"id,n,at\n1,1.234,10:00:00.4\n2,5,11:00\n";
    assert_eq!(counts(&ok(db.import("t.csv", data, &o))), (2, 0, 0, 0));
    assert_eq!(counts(&ok(db.import("t.csv", data, &o))), (0, 0, 2, 0));
    assert_eq!(
        db.rows("SELECT * FROM t ORDER BY id"),
        vec!["(1,1.23,10:00:00)", "(2,5.00,11:00:00)"]
    );
}

/// The client-side proof reads only plain digits: keys equal as integers but spelled apart,
/// and a duplicate whose first occurrence is unchanged, are still found (both rejected).
#[test]
fn duplicate_integer_keys_spelled_apart_are_rejected_in_an_upsert_into_existing_rows() {
    let mut db = db("CREATE TABLE t (id bigint PRIMARY KEY, v text)");
    db.client
        .batch_execute("INSERT INTO t VALUES (1, 'a'), (7, 'g')")
        .unwrap();
    let o = upsert("t");
    for data in [
        &b"id,v\n1,a\n2,b\n01,z\n"[..],
        b"id,v\n1,a\n2,b\n+1,z\n",
        b"id,v\n1,a\n2,b\n 1,z\n",
        b"id,v\n1,a\n2,b\n1,z\n",
    ] {
        let r = rejected(db.import("t.csv", data, &o));
        assert_eq!(
            r.rejects.iter().map(|j| j.line).collect::<Vec<_>>(),
            vec![2, 4],
            "{}",
            String::from_utf8_lossy(data)
        );
        assert_eq!(
            db.rows("SELECT * FROM t ORDER BY id"),
            vec!["(1,a)", "(7,g)"]
        );
    }
    // NULL keys are not duplicates of each other: the primary key refuses them instead.
    let mut o = upsert("t");
    o.max_errors = Some(2);
    let r = ok(db.import("t.csv", b"id,v\n,x\n,y\n8,h\n", &o));
    assert_eq!(counts(&r), (1, 0, 0, 2));
}

/// Counts come from the transaction's own statistics for the target and its partitions.
#[test]
fn upsert_into_a_partitioned_table_counts_each_row_once() {
    let mut db = db(
        "CREATE TABLE t (region text, id int, v text, PRIMARY KEY (region, id)) PARTITION BY LIST (region);
         CREATE TABLE t_eu PARTITION OF t FOR VALUES IN ('eu');
         CREATE TABLE t_us PARTITION OF t FOR VALUES IN ('us');
         INSERT INTO t VALUES ('eu', 1, 'a'), ('us', 1, 'b'), ('us', 2, 'c');",
    );
    let mut o = upsert("t");
    o.key = Some(vec!["region".into(), "id".into()]);
    let data = b"region,id,v\neu,1,a\nus,1,B\nus,3,d\neu,2,e\n";
    assert_eq!(counts(&ok(db.import("t.csv", data, &o))), (2, 1, 1, 0));
    assert_eq!(counts(&ok(db.import("t.csv", data, &o))), (0, 0, 4, 0));
    assert_eq!(
        db.rows("SELECT * FROM t ORDER BY region, id"),
        vec!["(eu,1,a)", "(eu,2,e)", "(us,1,B)", "(us,2,c)", "(us,3,d)"]
    );
}

/// A trigger that writes the target itself makes the statistics disagree with the merge's row
/// count: the upsert falls back to ON CONFLICT and still reports what it did.
#[test]
fn a_trigger_writing_the_target_falls_back_to_on_conflict_with_right_counts() {
    let mut db = db("CREATE TABLE t (id int PRIMARY KEY, v text);
         CREATE FUNCTION shadow() RETURNS trigger LANGUAGE plpgsql AS $$
         BEGIN
             IF NEW.id < 1000 THEN
                 INSERT INTO t VALUES (NEW.id + 1000, 'shadow') ON CONFLICT (id) DO NOTHING;
             END IF;
             RETURN NULL;
         END $$;
         CREATE TRIGGER shadow AFTER INSERT ON t FOR EACH ROW EXECUTE FUNCTION shadow();
         INSERT INTO t VALUES (1, 'a');");
    let o = upsert("t");
    let r = ok(db.import("t.csv", b"id,v\n1,A\n2,b\n", &o));
    assert_eq!(counts(&r), (1, 1, 0, 0));
    assert_eq!(
        db.rows("SELECT * FROM t ORDER BY id"),
        vec!["(1,A)", "(2,b)", "(1001,shadow)", "(1002,shadow)"]
    );
}
