//! The source's read-only switch on a real server: in-flight transactions that finish within
//! the bound are kept, those still open at the bound are cut, every other session is ended and
//! reconnects read-only, walsenders aside; `reset` makes the database writable again.

use std::time::{Duration, Instant};

use dbsage_cluster::Cluster;
use dbsage_move::read_only;
use postgres::error::SqlState;

fn shop() -> Cluster {
    let cluster = Cluster::start().unwrap();
    cluster.create_database("shop").unwrap();
    cluster
        .connect("shop")
        .unwrap()
        .batch_execute("create table payments (id bigint generated always as identity primary key, cents int not null)")
        .unwrap();
    cluster
}

fn insert_fails_read_only(cluster: &Cluster) -> bool {
    let mut c = cluster.connect("shop").unwrap();
    match c.batch_execute("insert into payments (cents) values (1)") {
        Ok(()) => false,
        Err(e) => e.code() == Some(&SqlState::READ_ONLY_SQL_TRANSACTION),
    }
}

#[test]
fn a_transaction_that_finishes_within_the_bound_commits() {
    let cluster = shop();
    let mut app = cluster.connect("shop").unwrap();
    app.batch_execute("begin; insert into payments (cents) values (500)")
        .unwrap();
    let committer = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(400));
        app.batch_execute("commit").unwrap();
    });
    let mut mover = cluster.connect("shop").unwrap();
    let drained = read_only::set(&mut mover, Duration::from_secs(10)).unwrap();
    committer.join().unwrap();
    assert_eq!(drained.cut_transactions, 0);
    assert!(!drained.was_read_only);
    assert!(drained.waited_ms >= 300, "{drained:?}");
    let n: i64 = mover
        .query_one("select count(*) from payments", &[])
        .unwrap()
        .get(0);
    assert_eq!(n, 1, "the in-flight payment committed");
    assert!(insert_fails_read_only(&cluster));
    assert!(read_only::is_read_only(&mut mover).unwrap());

    // Writable again, from a session opened while the database was read-only.
    let mut later = cluster.connect("shop").unwrap();
    read_only::reset(&mut later).unwrap();
    assert!(!insert_fails_read_only(&cluster));
}

#[test]
fn a_transaction_still_open_at_the_bound_is_cut_and_idle_sessions_are_ended() {
    let cluster = shop();
    let mut stuck = cluster.connect("shop").unwrap();
    stuck
        .batch_execute("begin; insert into payments (cents) values (700)")
        .unwrap();
    let mut idle = cluster.connect("shop").unwrap();
    idle.batch_execute("select 1").unwrap();
    let mut mover = cluster.connect("shop").unwrap();
    let started = Instant::now();
    let drained = read_only::set(&mut mover, Duration::from_millis(300)).unwrap();
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(drained.cut_transactions, 1, "{drained:?}");
    assert_eq!(drained.terminated, 2, "{drained:?}");
    assert!(
        stuck.batch_execute("commit").is_err(),
        "its session was ended"
    );
    assert!(
        idle.batch_execute("select 1").is_err(),
        "its session was ended"
    );
    let n: i64 = mover
        .query_one("select count(*) from payments", &[])
        .unwrap()
        .get(0);
    assert_eq!(n, 0, "the cut transaction was rolled back");
    assert!(insert_fails_read_only(&cluster));
    let note = read_only::restore_after_failure(Some(&mut mover), &drained, "shop");
    assert_eq!(note, "the source database shop was set writable again");
    assert!(!insert_fails_read_only(&cluster));
}

#[test]
fn a_database_read_only_before_stays_so_after_a_failure() {
    let cluster = shop();
    cluster
        .connect("postgres")
        .unwrap()
        .batch_execute("alter database shop set default_transaction_read_only = on")
        .unwrap();
    let mut mover = cluster.connect("shop").unwrap();
    mover
        .batch_execute("set default_transaction_read_only = off")
        .unwrap();
    let drained = read_only::set(&mut mover, Duration::from_millis(100)).unwrap();
    assert!(drained.was_read_only);
    let note = read_only::restore_after_failure(Some(&mut mover), &drained, "shop");
    assert!(
        note.contains("was read-only before the move and stays so"),
        "{note}"
    );
    assert!(insert_fails_read_only(&cluster));
}
