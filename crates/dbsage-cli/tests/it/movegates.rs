//! `dbsage move` through the gates of the databases it changes: a protected target (even
//! reached by a raw URL that spells its address differently) and a protected source (even
//! reached by a URL: its mark says so) need the typed name or `--yes`, refused with exit 3 and
//! nothing changed otherwise; a dry run leaves the source's gate alone. The move's start,
//! cutover, abort and result land in the audit logs, and a move into a second server over TCP
//! with a password and TLS `verify-full` works, while a wrong CA is refused without leaking
//! the password. The clinic project is in tests/fixtures/movegates/clinic.

use crate::common;
use crate::common::tls;

use std::path::{Path, PathBuf};
use std::process::Output;

use common::{stderr, stdout};
use dbsage_cluster::{Cluster, ClusterOptions};
use serde_json::Value;

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/movegates/clinic")
}

struct Clinic {
    dir: tempfile::TempDir,
    source: Cluster,
    target: Cluster,
}

impl Clinic {
    /// The clinic's `clinic` database on `source` (migrated by dbsage as the protected
    /// `production` when `managed`, else created by hand and unprotected), seeded; an empty
    /// `clinic` database on `target`. dbsage.toml is the caller's (`write_config`).
    fn new(source: Cluster, target: Cluster, managed: bool) -> Clinic {
        source.create_database("clinic").unwrap();
        target.create_database("clinic").unwrap();
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("migrations")).unwrap();
        let mut files: Vec<PathBuf> = std::fs::read_dir(fixture().join("migrations"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        files.sort();
        for f in &files {
            std::fs::copy(
                f,
                dir.path().join("migrations").join(f.file_name().unwrap()),
            )
            .unwrap();
        }
        let c = Clinic {
            dir,
            source,
            target,
        };
        if managed {
            c.write_config(&format!(
                "[environments.production]\nurl = \"{}\"\nprotected = true\n",
                c.source.url("clinic")
            ));
            let out = c.run(
                &[
                    "migrate",
                    "--env",
                    "production",
                    "--yes",
                    "--skip-local-check",
                ],
                &[],
            );
            assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        } else {
            let mut db = c.source_db();
            for f in &files {
                db.batch_execute(&std::fs::read_to_string(f).unwrap())
                    .unwrap();
            }
        }
        c.source_db()
            .batch_execute(&std::fs::read_to_string(fixture().join("seed.sql")).unwrap())
            .unwrap();
        c
    }

    /// `production` (the source, protected) and `newprod` (the target, unprotected).
    fn production_and_newprod(&self) {
        self.write_config(&format!(
            "[environments.production]\nurl = \"{}\"\nprotected = true\n\n[environments.newprod]\nurl = \"{}\"\n",
            self.source.url("clinic"),
            self.target.url("clinic")
        ));
    }

    fn write_config(&self, environments: &str) {
        std::fs::write(self.dir.path().join("dbsage.toml"), environments).unwrap();
    }

    fn run(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_dbsage"));
        cmd.current_dir(self.dir.path())
            .env("NO_COLOR", "1")
            .env_remove("DATABASE_URL")
            .args(args);
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd.output().unwrap()
    }

    fn json(&self, args: &[&str], env: &[(&str, &str)]) -> (Value, i32, String) {
        let mut all = args.to_vec();
        all.extend(["--format", "json"]);
        let out = self.run(&all, env);
        let text = stdout(&out);
        let v = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {text}\nstderr: {}", stderr(&out)));
        (v, out.status.code().unwrap_or(-1), stderr(&out))
    }

    fn source_db(&self) -> postgres::Client {
        self.source.connect("clinic").unwrap()
    }

    fn target_db(&self) -> postgres::Client {
        self.target.connect("clinic").unwrap()
    }

    /// A write on the source, rolled back: an error once the source is read-only.
    fn probe_write(&self) -> Result<(), postgres::Error> {
        self.source_db().batch_execute(
            "begin; insert into patients (full_name, email) values ('Probe', 'probe@clinic.example'); rollback",
        )
    }

    fn target_tables(&self) -> i64 {
        self.target_db()
            .query_one(
                "select count(*) from pg_tables where schemaname not in ('pg_catalog', 'information_schema')",
                &[],
            )
            .unwrap()
            .get(0)
    }
}

/// The audit log of `client`'s database, oldest first: (event, reason, details).
fn events(client: &mut postgres::Client) -> Vec<(String, String, Value)> {
    let exists: bool = client
        .query_one(
            "select to_regclass('dbsage.migration_events') is not null",
            &[],
        )
        .unwrap()
        .get(0);
    if !exists {
        return Vec::new();
    }
    client
        .query(
            "select event, coalesce(reason, ''), coalesce(details, 'null'::jsonb)::text
               from dbsage.migration_events order by id",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| {
            (
                r.get(0),
                r.get(1),
                serde_json::from_str(r.get::<_, &str>(2)).unwrap(),
            )
        })
        .collect()
}

fn names(events: &[(String, String, Value)]) -> Vec<&str> {
    events.iter().map(|(e, _, _)| e.as_str()).collect()
}

fn logical() -> Cluster {
    Cluster::start_with(&ClusterOptions {
        settings: vec![("wal_level".into(), "logical".into())],
        ..Default::default()
    })
    .unwrap()
}

#[test]
fn a_protected_target_reached_by_another_spelling_of_its_url_needs_its_gate() {
    let c = Clinic::new(Cluster::start().unwrap(), Cluster::start().unwrap(), false);
    // `newprod` is protected; the raw URL names the same database as 127.0.0.1 instead of
    // localhost: a database that has no mark yet, protected by its address.
    let newprod = format!(
        "postgresql://postgres:{}@localhost:{}/clinic",
        c.target.password(),
        c.target.port()
    );
    c.write_config(&format!(
        "[environments.old]\nurl = \"{}\"\n\n[environments.newprod]\nurl = \"{newprod}\"\nprotected = true\n",
        c.source.url("clinic")
    ));
    let raw = c.target.url("clinic");
    assert!(raw.contains("127.0.0.1"));
    let as_url = [("DATABASE_URL", raw.as_str())];

    let out = c.run(&["move", "--from", "old", "--to", "DATABASE_URL"], &as_url);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(3), "{err}");
    assert!(
        err.contains(
            "refusing to move a database into `DATABASE_URL` without confirmation: this database is protected as `newprod`"
        ),
        "{err}"
    );
    assert!(err.contains("pass --yes"), "{err}");
    assert!(!err.contains(c.target.password()), "{err}");
    assert_eq!(c.target_tables(), 0, "nothing restored");
    assert!(c.probe_write().is_ok(), "the source is still writable");

    let (v, code, err) = c.json(
        &["move", "--from", "old", "--to", "DATABASE_URL", "--yes"],
        &as_url,
    );
    assert_eq!(code, 0, "{v}\n{err}");
    assert_eq!(v["gates"]["target_protected_as"], "newprod");
    assert!(v["gates"]["source_protected_as"].is_null());
    assert_eq!(v["audit_logs"], serde_json::json!(["target"]));
    let log = events(&mut c.target_db());
    assert_eq!(names(&log), ["protected_confirmed", "move_finished"]);
    assert!(
        log[0]
            .1
            .contains("--yes (`DATABASE_URL`, protected as `newprod`)"),
        "{log:?}"
    );
    let (_, reason, details) = &log[1];
    assert!(reason.contains("2 tables, 2700 rows compared"), "{reason}");
    assert_eq!(details["from"], "old");
    assert_eq!(details["to"], "DATABASE_URL");
    assert!(!details.to_string().contains(c.target.password()));
    // The unmanaged, unprotected source got no dbsage schema from the move.
    assert!(events(&mut c.source_db()).is_empty());
}

#[test]
fn a_protected_source_reached_by_url_needs_its_gate_and_the_move_is_audited_on_both_sides() {
    let c = Clinic::new(Cluster::start().unwrap(), Cluster::start().unwrap(), true);
    c.production_and_newprod();
    let before = events(&mut c.source_db()).len();
    // DATABASE_URL reaches production's database: its mark protects it.
    let prod_url = c.source.url("clinic");
    let as_url = [("DATABASE_URL", prod_url.as_str())];
    let out = c.run(
        &["move", "--from", "DATABASE_URL", "--to", "newprod"],
        &as_url,
    );
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(3), "{err}");
    assert!(
        err.contains("refusing to move `DATABASE_URL` without confirmation: this database is protected as `production`"),
        "{err}"
    );
    assert!(
        c.probe_write().is_ok(),
        "refused: the source stays writable"
    );
    assert_eq!(c.target_tables(), 0);
    assert_eq!(events(&mut c.source_db()).len(), before, "nothing recorded");

    let (v, code, err) = c.json(
        &[
            "move",
            "--from",
            "DATABASE_URL",
            "--to",
            "newprod",
            "--yes",
            "--drain",
            "1s",
        ],
        &as_url,
    );
    assert_eq!(code, 0, "{v}\n{err}");
    assert_eq!(v["gates"]["source_protected_as"], "production");
    assert!(v["gates"]["target_protected_as"].is_null());
    assert_eq!(v["audit_logs"], serde_json::json!(["source", "target"]));
    assert!(
        c.probe_write().is_err(),
        "the source is read-only after the move"
    );

    let source_log = events(&mut c.source_db());
    assert_eq!(
        names(&source_log[before..]),
        ["protected_confirmed", "move_started", "move_finished"]
    );
    assert!(source_log[before]
        .1
        .contains("`DATABASE_URL`, protected as `production`"));
    assert_eq!(source_log[before + 1].2["method"], "dump");
    // The target's log is the source's, copied with the start, and the result appended.
    let target_log = events(&mut c.target_db());
    assert_eq!(
        names(&target_log[..before + 2]),
        names(&source_log[..before + 2])
    );
    assert_eq!(
        names(&target_log[before + 2..]),
        ["move_finished"],
        "{target_log:?}"
    );
    // The clinic's 2700 rows and dbsage's own tables, as the report compared them.
    assert_eq!(
        target_log.last().unwrap().2["rows"],
        v["comparison"]["rows"]
    );
    assert!(v["comparison"]["rows"].as_i64().unwrap() > 2700);
    // The chain of the copied log still verifies on the new server.
    let out = c.run(&["history", "--env", "newprod", "--verify"], &[]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
    // The protection moved with the database: its mark names production.
    let marks: Vec<String> = c
        .target_db()
        .query("select environment from dbsage.protection", &[])
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(marks, ["production"]);
}

#[test]
fn a_dry_run_leaves_the_protected_source_alone_and_records_only_on_the_target() {
    let c = Clinic::new(Cluster::start().unwrap(), Cluster::start().unwrap(), true);
    c.production_and_newprod();
    let before = events(&mut c.source_db());
    let (v, code, err) = c.json(
        &[
            "move",
            "--from",
            "production",
            "--to",
            "newprod",
            "--yes",
            "--keep-source-writable",
        ],
        &[],
    );
    assert_eq!(code, 0, "{v}\n{err}");
    assert!(v["gates"]["source_protected_as"].is_null(), "{v}");
    assert_eq!(v["audit_logs"], serde_json::json!(["target"]));
    assert_eq!(events(&mut c.source_db()).len(), before.len());
    assert!(c.probe_write().is_ok());
    let target_log = events(&mut c.target_db());
    let (event, reason, details) = target_log.last().unwrap();
    assert_eq!(event, "move_finished");
    assert!(reason.contains("a dry run"), "{reason}");
    assert_eq!(details["keep_source_writable"], true);
}

#[test]
fn replication_cutover_and_abort_ask_for_the_protected_source_and_are_audited() {
    let c = Clinic::new(logical(), Cluster::start().unwrap(), true);
    c.production_and_newprod();
    let before = events(&mut c.source_db()).len();
    let args = [
        "move",
        "--from",
        "production",
        "--to",
        "newprod",
        "--method",
        "replicate",
    ];
    let out = c.run(&args, &[]);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert!(stderr(&out).contains("protected as `production`"));
    let mut with_yes = args.to_vec();
    with_yes.push("--yes");
    let out = c.run(&with_yes, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("protected source confirmed: --yes (`production`)"),
        "{}",
        stdout(&out)
    );
    let subscriptions = |c: &Clinic| -> i64 {
        c.target_db()
            .query_one("select count(*) from pg_subscription", &[])
            .unwrap()
            .get(0)
    };
    assert_eq!(subscriptions(&c), 1);

    // Neither cutover nor abort goes through without the confirmation.
    for action in ["cutover", "abort"] {
        let out = c.run(&["move", action], &[]);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(3), "{action}: {err}");
        assert!(err.contains("protected as `production`"), "{err}");
        assert_eq!(subscriptions(&c), 1, "{action} changed nothing");
        assert!(c.probe_write().is_ok(), "{action}: the source is writable");
    }

    let (v, code, err) = c.json(
        &["move", "cutover", "--yes", "--drain", "1s", "--wait", "60s"],
        &[],
    );
    assert_eq!(code, 0, "{v}\n{err}");
    assert_eq!(v["audit_logs"], serde_json::json!(["source", "target"]));
    assert_eq!(subscriptions(&c), 0);
    let source_log = events(&mut c.source_db());
    assert_eq!(
        names(&source_log[before..]),
        [
            "protected_confirmed",
            "move_started",
            "move_replicating",
            "protected_confirmed",
            "move_cutover",
            "move_finished"
        ]
    );
    // Replicated into the target until the cutover, then the result appended there.
    let target_log = events(&mut c.target_db());
    let all = names(&target_log);
    assert_eq!(all.last(), Some(&"move_finished"), "{all:?}");
    let cutover = all.iter().rposition(|e| *e == "move_cutover");
    let started = all.iter().rposition(|e| *e == "move_started");
    assert!(started < cutover && cutover.is_some(), "{all:?}");
    assert_eq!(target_log.last().unwrap().2["method"], "replicate");
    let out = c.run(&["history", "--env", "newprod", "--verify"], &[]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
}

#[test]
fn abort_with_yes_is_recorded_on_the_protected_source() {
    let c = Clinic::new(logical(), Cluster::start().unwrap(), true);
    c.production_and_newprod();
    let out = c.run(
        &[
            "move",
            "--from",
            "production",
            "--to",
            "newprod",
            "--method",
            "replicate",
            "--yes",
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let (v, code, err) = c.json(&["move", "abort", "--yes"], &[]);
    assert_eq!(code, 0, "{v}\n{err}");
    assert_eq!(v["gates"]["source_protected_as"], "production");
    let log = events(&mut c.source_db());
    let last: Vec<&str> = names(&log).into_iter().rev().take(2).collect();
    assert_eq!(last, ["move_aborted", "protected_confirmed"]);
    assert!(c.probe_write().is_ok());
}

/// The clinic moved into a second server reached over TCP with a password and TLS
/// `verify-full`; the new server refuses connections without TLS, so pg_dump, pg_restore and
/// dbsage's own sessions all had to use it.
#[test]
fn a_move_into_a_server_over_verify_full_tls_and_a_wrong_ca_is_refused() {
    let certificates = tls::certificates();
    let target = tls::cluster(certificates.path());
    let c = Clinic::new(Cluster::start().unwrap(), target, true);
    let hba = c.target.data_dir().join("pg_hba.conf");
    let rules = std::fs::read_to_string(&hba)
        .unwrap()
        .replace("\nhost    ", "\nhostssl ");
    std::fs::write(&hba, rules).unwrap();
    c.target
        .connect("postgres")
        .unwrap()
        .batch_execute("select pg_reload_conf()")
        .unwrap();
    let plain = postgres::Client::connect(&c.target.url("clinic"), postgres::NoTls);
    assert!(plain.is_err(), "the new server takes TLS only");

    let other = tls::certificates();
    let config = |ca: &Path| {
        format!(
            "[environments.production]\nurl = \"{}\"\nprotected = true\n\n[environments.newprod]\nurl = \"{}\"\nprotected = true\n",
            c.source.url("clinic"),
            tls::verify_full_url(&c.target, "clinic", ca)
        )
    };
    // A CA that did not sign the server's certificate: refused before anything changes, with
    // what to check and no password.
    c.write_config(&config(&other.path().join("ca.pem")));
    let out = c.run(
        &["move", "--from", "production", "--to", "newprod", "--yes"],
        &[],
    );
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("invalid peer certificate"), "{err}");
    assert!(err.contains("sslrootcert"), "{err}");
    assert!(!err.contains(c.target.password()), "{err}");
    assert!(!err.contains(c.source.password()), "{err}");
    assert!(c.probe_write().is_ok(), "the source was not touched");

    c.write_config(&config(&certificates.path().join("ca.pem")));
    let (v, code, err) = c.json(
        &[
            "move",
            "--from",
            "production",
            "--to",
            "newprod",
            "--yes",
            "--drain",
            "1s",
        ],
        &[],
    );
    assert_eq!(code, 0, "{v}\n{err}");
    assert_eq!(v["gates"]["target_protected_as"], "newprod");
    // The test reads it over the unix socket (TCP now takes TLS only).
    let mut moved = c.target_db();
    let rows: i64 = moved
        .query_one(
            "select (select count(*) from patients) + (select count(*) from appointments)",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(rows, 2700);
    let log = events(&mut moved);
    let (event, _, details) = log.last().unwrap();
    assert_eq!(event, "move_finished");
    assert!(details["target"]
        .as_str()
        .unwrap()
        .contains("sslmode=verify-full"));
    assert!(!details.to_string().contains(c.target.password()));
}
