//! `dbsage move` through the binary between two throwaway clusters reached over TCP with
//! passwords: both methods while a writer keeps inserting until the cutover (nothing lost:
//! counts and a checksum), a failure that leaves the source writable again, and the preflight's
//! refusals (older target, missing extension, what replication needs).

use crate::common;

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{stderr, stdout};
use dbsage_cluster::{Cluster, ClusterOptions, PgInstall};
use postgres::error::SqlState;
use serde_json::Value;

const SHOP_SQL: &str = include_str!("../fixtures/move/shop.sql");

struct Move {
    dir: tempfile::TempDir,
    source: Cluster,
    target: Cluster,
}

fn cluster(major: Option<u32>, logical: bool) -> Cluster {
    let mut options = ClusterOptions {
        major,
        ..ClusterOptions::default()
    };
    if logical {
        options
            .settings
            .push(("wal_level".into(), "logical".into()));
    }
    Cluster::start_with(&options).expect("starting a throwaway cluster")
}

impl Move {
    /// `old` (the shop, on `source`) and `new` (an empty database `shop` on `target`).
    fn new(source: Cluster, target: Cluster) -> Move {
        source.create_database("shop").unwrap();
        target.create_database("shop").unwrap();
        source
            .connect("shop")
            .unwrap()
            .batch_execute(SHOP_SQL)
            .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let m = Move {
            dir,
            source,
            target,
        };
        m.write_config(&m.source.url("shop"), &m.target.url("shop"));
        m
    }

    fn write_config(&self, old: &str, new: &str) {
        std::fs::write(
            self.dir.path().join("dbsage.toml"),
            format!("[environments.old]\nurl = \"{old}\"\n\n[environments.new]\nurl = \"{new}\"\n"),
        )
        .unwrap();
        let _ = std::fs::create_dir(self.dir.path().join("migrations"));
    }

    fn run(&self, args: &[&str]) -> std::process::Output {
        std::process::Command::new(env!("CARGO_BIN_EXE_dbsage"))
            .current_dir(self.dir.path())
            .env("NO_COLOR", "1")
            .env_remove("DATABASE_URL")
            .args(args)
            .output()
            .unwrap()
    }

    fn json(&self, args: &[&str]) -> (Value, i32) {
        let mut all = args.to_vec();
        all.extend(["--format", "json"]);
        let out = self.run(&all);
        let text = stdout(&out);
        let v = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {text}\nstderr: {}", stderr(&out)));
        (v, out.status.code().unwrap_or(-1))
    }

    fn source_db(&self) -> postgres::Client {
        self.source.connect("shop").unwrap()
    }

    fn target_db(&self) -> postgres::Client {
        self.target.connect("shop").unwrap()
    }

    fn state_file(&self) -> std::path::PathBuf {
        self.dir.path().join(".dbsage/moves/old-to-new.json")
    }
}

/// What the application did while the move ran.
struct Written {
    ids: Vec<i64>,
    updates: usize,
    stopped_by_read_only: bool,
}

/// A client of the source inserting an event per transaction (and updating an order every
/// tenth), reconnecting when its session is ended, until the database refuses writes.
fn writer(url: String, give_up: Arc<AtomicBool>) -> std::thread::JoinHandle<Written> {
    std::thread::spawn(move || {
        let mut written = Written {
            ids: Vec::new(),
            updates: 0,
            stopped_by_read_only: false,
        };
        let connect = || postgres::Client::connect(&url, postgres::NoTls);
        let mut client = connect().expect("the writer connects");
        let mut n: i64 = 0;
        while !give_up.load(Ordering::SeqCst) {
            n += 1;
            let result = if n % 10 == 0 {
                client
                    .execute(
                        "update shop.orders set status = 'shipped' where id = $1",
                        &[&(1 + n % 1200)],
                    )
                    .map(|_| None)
            } else {
                client
                    .query_one(
                        "insert into shop.events (kind, payload) values ('order-placed', jsonb_build_object('n', $1::bigint)) returning id",
                        &[&n],
                    )
                    .map(|r| Some(r.get::<_, i64>(0)))
            };
            match result {
                Ok(Some(id)) => written.ids.push(id),
                Ok(None) => written.updates += 1,
                Err(e) if e.code() == Some(&SqlState::READ_ONLY_SQL_TRANSACTION) => {
                    written.stopped_by_read_only = true;
                    break;
                }
                Err(_) => {
                    // Session ended by the move: reconnect (new sessions see the database's settings).
                    std::thread::sleep(Duration::from_millis(20));
                    if let Ok(c) = connect() {
                        client = c;
                    }
                }
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        written
    })
}

/// md5 over the events' ids, kinds and payloads, and the count.
fn events_digest(client: &mut postgres::Client) -> (i64, String) {
    let row = client
        .query_one(
            "select count(*), md5(string_agg(id || ':' || kind || ':' || payload::text, ',' order by id)) from shop.events",
            &[],
        )
        .unwrap();
    (row.get(0), row.get(1))
}

fn orders_digest(client: &mut postgres::Client) -> String {
    client
        .query_one(
            "select md5(string_agg(id || ':' || status, ',' order by id)) from shop.orders",
            &[],
        )
        .unwrap()
        .get(0)
}

fn assert_nothing_lost(m: &Move, written: &Written) {
    assert!(
        written.ids.len() > 20,
        "the writer committed only {} events",
        written.ids.len()
    );
    assert!(written.stopped_by_read_only, "the writer was never refused");
    let (source_count, source_md5) = events_digest(&mut m.source_db());
    let (target_count, target_md5) = events_digest(&mut m.target_db());
    // At most one more than the writer saw committed: a session ended by the move between its
    // COMMIT and the reply (the row is committed, on both sides; the client only lost the answer).
    let unacknowledged = source_count - 500 - written.ids.len() as i64;
    assert!(
        (0..=1).contains(&unacknowledged),
        "{source_count} events on the source"
    );
    assert_eq!(target_count, source_count);
    assert_eq!(target_md5, source_md5);
    assert_eq!(
        orders_digest(&mut m.target_db()),
        orders_digest(&mut m.source_db())
    );
    let ids: Vec<i64> = m
        .target_db()
        .query(
            "select id from shop.events where id = any($1)",
            &[&written.ids],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(
        ids.len(),
        written.ids.len(),
        "every committed event is on the target"
    );
}

fn source_is_read_only(m: &Move) -> bool {
    match m
        .source_db()
        .batch_execute("begin; insert into shop.events (kind) values ('probe'); rollback")
    {
        Ok(()) => false,
        Err(e) => e.code() == Some(&SqlState::READ_ONLY_SQL_TRANSACTION),
    }
}

#[test]
fn dump_moves_everything_while_a_writer_runs_until_the_source_goes_read_only() {
    let m = Move::new(cluster(None, false), cluster(None, false));
    m.target_db()
        .batch_execute("create role shop_owner nologin")
        .unwrap();

    let (checklist, code) = m.json(&["move", "preflight", "--from", "old", "--to", "new"]);
    assert_eq!(code, 0, "{checklist}");
    assert_eq!(checklist["blockers"].as_array().unwrap().len(), 0);
    assert_eq!(checklist["tables"], 5);
    assert_eq!(checklist["extensions"][0]["name"], "citext");
    assert!(checklist["sequences"]
        .as_array()
        .unwrap()
        .iter()
        .any(|s| s == "shop.events_id_seq"));
    assert!(checklist["owner_roles"]
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r["name"] == "shop_owner" && r["on_target"] == true));

    // Without a terminal nor --yes: refused, nothing touched.
    let out = m.run(&["move", "--from", "old", "--to", "new"]);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert!(!source_is_read_only(&m));

    let give_up = Arc::new(AtomicBool::new(false));
    let handle = writer(m.source.url("shop"), give_up.clone());
    std::thread::sleep(Duration::from_millis(400));
    let out = m.run(&[
        "move", "--from", "old", "--to", "new", "--yes", "--drain", "2s",
    ]);
    let text = stdout(&out);
    assert!(out.status.success(), "{text}\n{}", stderr(&out));
    // Stop the writer only if the move did not stop it (the assertion below then fails).
    std::thread::sleep(Duration::from_millis(500));
    give_up.store(true, Ordering::SeqCst);
    let written = handle.join().unwrap();

    assert!(
        text.contains("Preflight: move `old` → `new` (dump)"),
        "{text}"
    );
    assert!(text.contains("[ok] extensions: citext"), "{text}");
    assert!(text.contains("Source `old` is read-only"), "{text}");
    assert!(text.contains("compared: 5 tables"), "{text}");
    assert!(text.contains("Cutover steps:"), "{text}");
    assert_nothing_lost(&m, &written);
    assert!(
        source_is_read_only(&m),
        "the source stays read-only as the fallback"
    );
    // Sequences came along: the next event on the target does not collide.
    let mut target = m.target_db();
    let next: i64 = target
        .query_one(
            "insert into shop.events (kind) values ('after-move') returning id",
            &[],
        )
        .unwrap()
        .get(0);
    assert!(next > *written.ids.iter().max().unwrap());
    let owner: String = target
        .query_one(
            "select tableowner::text from pg_tables where tablename = 'orders'",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(owner, "shop_owner");
}

#[test]
fn a_failed_dump_move_sets_the_source_writable_again_and_a_dry_run_never_locks_it() {
    let m = Move::new(cluster(None, false), cluster(None, false));
    // The target's role may log in but not create anything in the database.
    m.target
        .connect("postgres")
        .unwrap()
        .batch_execute(
            "create role shop_owner nologin; create role mover login password 'mover-pw-7'",
        )
        .unwrap();
    let weak = format!(
        "postgresql://mover:mover-pw-7@127.0.0.1:{}/shop",
        m.target.port()
    );
    m.write_config(&m.source.url("shop"), &weak);
    let (v, code) = m.json(&["move", "--from", "old", "--to", "new", "--yes"]);
    assert_eq!(code, 1, "{v}");
    let message = v["error"]["message"].as_str().unwrap();
    assert!(message.contains("pg_restore reported"), "{message}");
    assert!(
        message.contains("the source database shop was set writable again"),
        "{message}"
    );
    assert!(!source_is_read_only(&m), "the source is writable again");

    // A dry run into a fresh target while the application writes: copied and compared in the
    // dump's snapshot, the source never read-only, no session ended.
    let mut admin = m.target.connect("postgres").unwrap();
    admin
        .batch_execute("drop database shop with (force)")
        .unwrap();
    admin.batch_execute("create database shop").unwrap();
    m.write_config(&m.source.url("shop"), &m.target.url("shop"));
    let give_up = Arc::new(AtomicBool::new(false));
    let handle = writer(m.source.url("shop"), give_up.clone());
    std::thread::sleep(Duration::from_millis(300));
    let (v, code) = m.json(&[
        "move",
        "--from",
        "old",
        "--to",
        "new",
        "--yes",
        "--keep-source-writable",
    ]);
    std::thread::sleep(Duration::from_millis(300));
    give_up.store(true, Ordering::SeqCst);
    let written = handle.join().unwrap();
    assert_eq!(code, 0, "{v}");
    assert!(v["read_only"].is_null());
    assert!(!written.stopped_by_read_only);
    let (events_on_source, _) = events_digest(&mut m.source_db());
    let (events_copied, _) = events_digest(&mut m.target_db());
    assert_eq!(events_on_source, 500 + written.ids.len() as i64);
    assert!(
        events_copied > 500 && events_copied < events_on_source,
        "{events_copied} of {events_on_source}"
    );
    assert_eq!(
        v["comparison"]["rows"],
        400 + 60 + 1200 + 3600 + events_copied
    );
    assert!(v["cutover_steps"]
        .as_array()
        .unwrap()
        .iter()
        .any(|s| s.as_str().unwrap().contains("dry run")));
    assert!(!source_is_read_only(&m));
}

#[test]
fn replicate_streams_while_a_writer_runs_and_cutover_loses_nothing() {
    let m = Move::new(cluster(None, true), cluster(None, false));
    m.target_db()
        .batch_execute("create role shop_owner nologin")
        .unwrap();
    let give_up = Arc::new(AtomicBool::new(false));
    let handle = writer(m.source.url("shop"), give_up.clone());
    std::thread::sleep(Duration::from_millis(300));

    let out = m.run(&[
        "move",
        "--from",
        "old",
        "--to",
        "new",
        "--method",
        "replicate",
        "--yes",
    ]);
    assert!(out.status.success(), "{}\n{}", stdout(&out), stderr(&out));
    assert!(
        stdout(&out).contains("[ok] source wal_level: logical"),
        "{}",
        stdout(&out)
    );
    let state: Value =
        serde_json::from_str(&std::fs::read_to_string(m.state_file()).unwrap()).unwrap();
    assert_eq!(state["phase"], "replicating");
    assert_eq!(state["tables"].as_array().unwrap().len(), 5);
    assert!(!std::fs::read_to_string(m.state_file())
        .unwrap()
        .contains(m.source.password()));

    // A second start is refused while this one runs.
    let out = m.run(&[
        "move",
        "--from",
        "old",
        "--to",
        "new",
        "--method",
        "replicate",
        "--yes",
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));

    let started = Instant::now();
    loop {
        let (status, code) = m.json(&["move", "status"]);
        assert_eq!(code, 0, "{status}");
        assert_eq!(status["tables"].as_array().unwrap().len(), 5);
        if status["ready"] == 5 {
            assert!(status["lag_bytes"].is_i64(), "{status}");
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(60), "{status}");
        std::thread::sleep(Duration::from_millis(200));
    }
    let human = stdout(&m.run(&["move", "status"]));
    assert!(human.contains("5/5 tables ready"), "{human}");
    assert!(
        human
            .lines()
            .any(|l| l.trim().starts_with("ready") && l.ends_with(" shop.events")),
        "{human}"
    );
    // The writer keeps going after the initial copy: those rows must stream.
    std::thread::sleep(Duration::from_millis(500));

    let out = m.run(&["move", "cutover", "--yes", "--drain", "2s"]);
    let text = stdout(&out);
    assert!(out.status.success(), "{text}\n{}", stderr(&out));
    std::thread::sleep(Duration::from_millis(500));
    give_up.store(true, Ordering::SeqCst);
    let written = handle.join().unwrap();
    assert!(text.contains("Cut over `old` → `new`"), "{text}");
    assert!(written.updates > 0);
    assert_nothing_lost(&m, &written);
    assert!(source_is_read_only(&m));

    // Sequences copied: the target's next id continues after the source's last.
    let next: i64 = m
        .target_db()
        .query_one(
            "insert into shop.events (kind) values ('after-cutover') returning id",
            &[],
        )
        .unwrap()
        .get(0);
    assert!(next > *written.ids.iter().max().unwrap());
    let subscriptions: i64 = m
        .target_db()
        .query_one("select count(*) from pg_subscription", &[])
        .unwrap()
        .get(0);
    assert_eq!(subscriptions, 0);
    let slots: i64 = m
        .source_db()
        .query_one("select count(*) from pg_replication_slots", &[])
        .unwrap()
        .get(0);
    assert_eq!(slots, 0, "no slot left to hold WAL on the source");
    let (status, _) = m.json(&["move", "status"]);
    assert_eq!(status["phase"], "cut-over");
    let out = m.run(&["move", "cutover", "--yes"]);
    assert_eq!(out.status.code(), Some(2));
}

fn blockers(v: &Value) -> Vec<String> {
    v["blockers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["check"].as_str().unwrap().to_string())
        .collect()
}

fn has_17() -> bool {
    if PgInstall::find_major(Some(17)).is_ok() {
        return true;
    }
    eprintln!("skipped: no PostgreSQL 17 installed (`dbsage pg install 17`)");
    false
}

#[test]
fn an_older_target_is_refused_and_nothing_changes() {
    if !has_17() {
        return;
    }
    let m = Move::new(cluster(Some(17), false), cluster(Some(15), false));
    m.target_db()
        .batch_execute("create role shop_owner nologin")
        .unwrap();
    let (v, code) = m.json(&["move", "preflight", "--from", "old", "--to", "new"]);
    assert_eq!(code, 3, "{v}");
    assert_eq!(blockers(&v), ["version"]);
    assert_eq!(v["source"]["major"], 17);
    assert_eq!(v["target"]["major"], 15);

    let out = m.run(&["move", "--from", "old", "--to", "new", "--yes"]);
    assert_eq!(out.status.code(), Some(3));
    let err = stderr(&out);
    assert!(
        err.contains("refused by its preflight, nothing was changed")
            && err.contains("PostgreSQL 17 or newer"),
        "{err}"
    );
    assert!(stdout(&out).contains("[NO] versions"), "{}", stdout(&out));
    assert!(!source_is_read_only(&m));
    let tables: i64 = m
        .target_db()
        .query_one(
            "select count(*) from pg_tables where schemaname = 'shop'",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(tables, 0);
}

#[test]
fn an_extension_the_target_lacks_and_a_missing_owner_are_refused() {
    if !has_17() {
        return;
    }
    let m = Move::new(cluster(Some(15), false), cluster(Some(17), false));
    m.source_db()
        .batch_execute("create extension hypopg")
        .unwrap();
    let (v, code) = m.json(&["move", "preflight", "--from", "old", "--to", "new"]);
    assert_eq!(code, 3, "{v}");
    assert_eq!(blockers(&v), ["extension", "owner-role"]);
    let ext = &v["extensions"].as_array().unwrap();
    assert!(ext
        .iter()
        .any(|e| e["name"] == "hypopg" && e["available_on_target"] == false));
    assert!(ext
        .iter()
        .any(|e| e["name"] == "citext" && e["available_on_target"] == true));
    let (v, code) = m.json(&["move", "--from", "old", "--to", "new", "--yes"]);
    assert_eq!(code, 3, "{v}");
    let message = v["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("hypopg") && message.contains("shop_owner"),
        "{message}"
    );
    assert!(v["error"]["hint"]
        .as_str()
        .unwrap()
        .contains("CREATE ROLE \"shop_owner\""));
    assert!(!source_is_read_only(&m));
}

#[test]
fn replicate_names_what_the_source_lacks() {
    let m = Move::new(cluster(None, false), cluster(None, false));
    let mut source = m.source_db();
    source
        .batch_execute(
            "create table shop.audit_log (at timestamptz, line text);
             create role app login password 'app-pw-3';
             grant connect on database shop to app; grant usage on schema shop to app;
             grant select on all tables in schema shop to app;",
        )
        .unwrap();
    m.target_db()
        .batch_execute("create role shop_owner nologin")
        .unwrap();
    let app = format!(
        "postgresql://app:app-pw-3@127.0.0.1:{}/shop",
        m.source.port()
    );
    m.write_config(&app, &m.target.url("shop"));
    let (v, code) = m.json(&[
        "move",
        "preflight",
        "--from",
        "old",
        "--to",
        "new",
        "--method",
        "replicate",
    ]);
    assert_eq!(code, 3, "{v}");
    assert_eq!(
        blockers(&v),
        ["wal-level", "replication-privilege", "replica-identity"]
    );
    assert_eq!(v["tables_without_identity"][0], "shop.audit_log");
    // The same source is fine for a dump (only the replication checks block).
    let (v, code) = m.json(&["move", "preflight", "--from", "old", "--to", "new"]);
    assert_eq!(code, 0, "{v}");

    let out = m.run(&[
        "move",
        "--from",
        "old",
        "--to",
        "new",
        "--method",
        "replicate",
        "--yes",
    ]);
    assert_eq!(out.status.code(), Some(3));
    let err = stderr(&out);
    assert!(err.contains("wal_level is `replica`"), "{err}");
    assert!(err.contains("ALTER ROLE \"app\" REPLICATION"), "{err}");
    assert!(err.contains("REPLICA IDENTITY"), "{err}");
    let publications: i64 = source
        .query_one("select count(*) from pg_publication", &[])
        .unwrap()
        .get(0);
    assert_eq!(publications, 0);
    assert!(!Path::new(&m.state_file()).exists());
}

#[test]
fn ctrl_c_during_the_dump_sets_the_source_writable_again() {
    use std::io::{BufRead, BufReader};
    use std::os::unix::process::CommandExt;

    let m = Move::new(cluster(None, false), cluster(None, false));
    m.target_db()
        .batch_execute("create role shop_owner nologin")
        .unwrap();
    // Enough rows that pg_dump is still running when the Ctrl-C comes.
    m.source_db()
        .batch_execute(
            "insert into shop.events (kind, payload)
               select 'import', jsonb_build_object('n', g, 'note', repeat(md5(g::text), 8))
               from generate_series(1, 300000) g",
        )
        .unwrap();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_dbsage"))
        .current_dir(m.dir.path())
        .env("NO_COLOR", "1")
        .args([
            "move", "--from", "old", "--to", "new", "--yes", "--jobs", "1",
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .process_group(0)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let mut seen = Vec::new();
    for line in lines.by_ref() {
        let line = line.unwrap();
        seen.push(line.clone());
        if line.contains("Moving pg_dump") {
            break;
        }
    }
    assert!(source_is_read_only(&m), "{seen:?}");
    std::thread::sleep(Duration::from_millis(100));
    // The terminal's Ctrl-C: SIGINT to the whole foreground process group.
    unsafe { libc::kill(-(child.id() as i32), libc::SIGINT) };
    seen.extend(lines.map_while(Result::ok));
    let status = child.wait().unwrap();
    let text = seen.join("\n");
    assert_eq!(status.code(), Some(130), "{text}");
    assert!(
        text.contains("interrupted: the source database shop was set writable again"),
        "{text}"
    );
    assert!(!source_is_read_only(&m), "{text}");
}

#[test]
fn abort_drops_replication_on_both_servers_and_leaves_the_source_as_it_was() {
    let m = Move::new(cluster(None, true), cluster(None, false));
    m.target_db()
        .batch_execute("create role shop_owner nologin")
        .unwrap();
    let out = m.run(&[
        "move",
        "--from",
        "old",
        "--to",
        "new",
        "--method",
        "replicate",
        "--yes",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let count = |client: &mut postgres::Client, sql: &str| -> i64 {
        client.query_one(sql, &[]).unwrap().get(0)
    };
    // The subscription's own slot; a table's initial sync may hold a second one for a moment.
    assert_eq!(
        count(
            &mut m.source_db(),
            "select count(*) from pg_replication_slots where slot_name = 'dbsage_move'"
        ),
        1
    );

    let (v, code) = m.json(&["move", "abort"]);
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["target_database"], "shop");
    assert_eq!(
        count(&mut m.target_db(), "select count(*) from pg_subscription"),
        0
    );
    assert_eq!(
        count(
            &mut m.source_db(),
            "select count(*) from pg_replication_slots"
        ),
        0
    );
    assert_eq!(
        count(&mut m.source_db(), "select count(*) from pg_publication"),
        0
    );
    assert!(!m.state_file().exists());
    assert!(!source_is_read_only(&m));
    let out = m.run(&["move", "status"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("no replication move is in progress"),
        "{}",
        stderr(&out)
    );
}
