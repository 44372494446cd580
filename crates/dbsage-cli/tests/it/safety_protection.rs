//! Safety suite, issue 8 item 1: protection belongs to the database, not to the environment's
//! name. Each path that reached a protected database without its gates (DATABASE_URL, an alias
//! environment with the same URL, `database_url` in lower case, import, repair) is refused
//! without confirmation and writes nothing; with `--yes` it works and is audited. The prompt
//! shows the plan, and Ctrl-C at it says "cancelled".

use crate::common;

use std::io::{Read, Write};
use std::os::fd::{FromRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::process::{Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{stderr, stdout, TestProject};

const M1: &str = "20260101000000";
const M2: &str = "20260102000000";
const M3: &str = "20260103000000";

/// A project with a protected `production` environment on the test cluster's `prod` database,
/// already migrated once (so the database carries the mark).
fn marked_production() -> TestProject {
    let p = TestProject::new();
    let url = p.cluster.create_database("prod").unwrap();
    append_config(
        &p,
        "[environments.production]\nurl = \"${PROD_URL}\"\nprotected = true\n",
    );
    std::fs::write(p.root().join(".env.local"), format!("PROD_URL={url}\n")).unwrap();
    p.migration(
        M1,
        "users",
        "create table if not exists users (id int primary key, email text);\n",
    );
    p.down(M1, "users", "drop table if exists users;\n");
    let out = p.run(&[
        "migrate",
        "--env",
        "production",
        "--yes",
        "--skip-local-check",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    p
}

fn append_config(p: &TestProject, extra: &str) {
    let toml = std::fs::read_to_string(p.root().join("dbsage.toml")).unwrap();
    std::fs::write(p.root().join("dbsage.toml"), format!("{toml}\n{extra}")).unwrap();
}

fn prod_url(p: &TestProject) -> String {
    p.cluster.url("prod")
}

fn prod(p: &TestProject) -> postgres::Client {
    postgres::Client::connect(&prod_url(p), postgres::NoTls).unwrap()
}

fn prod_history(p: &TestProject) -> Vec<String> {
    prod(p)
        .query(
            "select version from dbsage.schema_migrations order by version",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect()
}

/// `(event, reason)` of the production audit log, oldest first.
fn prod_events(p: &TestProject) -> Vec<(String, Option<String>)> {
    prod(p)
        .query(
            "select event, reason from dbsage.migration_events order by id",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect()
}

fn prod_table_exists(p: &TestProject, name: &str) -> bool {
    prod(p)
        .query_one("select to_regclass($1) is not null", &[&name])
        .unwrap()
        .get(0)
}

/// Runs dbsage with DATABASE_URL pointing at the production database.
fn run_as_database_url(p: &TestProject, args: &[&str]) -> Output {
    p.cmd()
        .args(args)
        .env("DATABASE_URL", prod_url(p))
        .output()
        .unwrap()
}

fn assert_refused_as_production(out: &Output) {
    assert_eq!(out.status.code(), Some(3), "{}", stderr(out));
    assert!(
        stderr(out).contains("this database is protected as `production`"),
        "{}",
        stderr(out)
    );
}

#[test]
fn the_first_protected_migrate_marks_the_database() {
    let p = marked_production();
    let marks: Vec<String> = prod(&p)
        .query("select environment from dbsage.protection", &[])
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(marks, ["production"]);
    // The unprotected test database carries no mark.
    assert!(!p.table_exists("dbsage.protection"));
}

#[test]
fn migrate_through_database_url_to_a_marked_database_needs_its_gates() {
    let p = marked_production();
    p.migration(M2, "more", "create table if not exists more (id int);\n");
    // No confirmation: refused, naming the protected name and the plan; nothing applied.
    let out = run_as_database_url(
        &p,
        &["migrate", "--env", "DATABASE_URL", "--skip-local-check"],
    );
    assert_refused_as_production(&out);
    assert!(
        stderr(&out).contains(&format!("{M2}_more")),
        "{}",
        stderr(&out)
    );
    assert_eq!(prod_history(&p), [M1]);
    // The local-pass gate applies too.
    let out = run_as_database_url(&p, &["migrate", "--env", "DATABASE_URL", "--yes"]);
    assert_refused_as_production(&out);
    assert!(stderr(&out).contains("migrate --local"), "{}", stderr(&out));
    assert_eq!(prod_history(&p), [M1]);
    // With --yes it works, and the audit log says how it was confirmed.
    let out = run_as_database_url(
        &p,
        &[
            "migrate",
            "--env",
            "DATABASE_URL",
            "--yes",
            "--skip-local-check",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(prod_history(&p), [M1, M2]);
    let events = prod_events(&p);
    let confirmed: Vec<_> = events
        .iter()
        .filter(|(e, _)| e == "protected_confirmed")
        .collect();
    assert_eq!(confirmed.len(), 2, "{events:?}");
    let reason = confirmed[1].1.as_deref().unwrap();
    assert!(
        reason.contains("--yes") && reason.contains("`DATABASE_URL`, protected as `production`"),
        "{reason}"
    );
    assert!(
        events
            .iter()
            .filter(|(e, _)| e == "local_check_skipped")
            .count()
            == 2,
        "{events:?}"
    );
}

#[test]
fn rollback_through_database_url_drops_nothing_without_confirmation() {
    let p = marked_production();
    let out = run_as_database_url(&p, &["rollback", "--env", "DATABASE_URL"]);
    assert_refused_as_production(&out);
    let err = stderr(&out);
    assert!(
        err.contains(&format!("undo {M1}_users with its down file (transaction)")),
        "the plan names what would be undone: {err}"
    );
    assert!(
        prod_table_exists(&p, "users"),
        "the table must not be dropped"
    );
    assert_eq!(prod_history(&p), [M1]);
    assert!(!prod_events(&p).iter().any(|(e, _)| e == "rolled_back"));

    let out = run_as_database_url(&p, &["rollback", "--env", "DATABASE_URL", "--yes"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(!prod_table_exists(&p, "users"));
    assert!(prod_history(&p).is_empty());
    let events = prod_events(&p);
    let tail: Vec<&str> = events
        .iter()
        .rev()
        .take(2)
        .map(|(e, _)| e.as_str())
        .collect();
    assert_eq!(tail, ["rolled_back", "protected_confirmed"], "{events:?}");
}

#[test]
fn an_alias_environment_with_the_same_url_gets_the_gates_and_a_warning() {
    let p = marked_production();
    append_config(&p, "[environments.alias]\nurl = \"${PROD_URL}\"\n");
    p.migration(M2, "more", "create table if not exists more (id int);\n");
    let out = p.run(&["migrate", "--env", "alias", "--skip-local-check"]);
    assert_refused_as_production(&out);
    let err = stderr(&out);
    let warning = "warning: environments `alias` and `production` point at the same database";
    assert_eq!(
        err.matches(warning).count(),
        1,
        "warned once per run: {err}"
    );
    assert_eq!(prod_history(&p), [M1]);
    // Commands that only read warn as well.
    let out = p.run(&["status", "--env", "test"]);
    assert!(stderr(&out).contains(warning), "{}", stderr(&out));
    // So does init, on the kept configuration.
    let out = p.run(&["init", "--no-check"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stderr(&out).contains(warning), "{}", stderr(&out));
    // With --yes the alias works and is recorded under its own name.
    let out = p.run(&["migrate", "--env", "alias", "--yes", "--skip-local-check"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(prod_history(&p), [M1, M2]);
    assert!(prod_events(&p)
        .iter()
        .any(|(e, r)| e == "protected_confirmed"
            && r.as_deref()
                .is_some_and(|r| r.contains("`alias`, protected as `production`"))));
}

#[test]
fn distinct_databases_get_no_warning() {
    let p = marked_production();
    let out = p.run(&["status", "--env", "production"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        !stderr(&out).contains("point at the same database"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn database_url_in_lower_case_is_not_an_environment() {
    let p = marked_production();
    p.migration(M2, "more", "create table if not exists more (id int);\n");
    let out = run_as_database_url(
        &p,
        &[
            "migrate",
            "--env",
            "database_url",
            "--yes",
            "--skip-local-check",
        ],
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("unknown environment `database_url`"), "{err}");
    assert!(err.contains("did you mean `DATABASE_URL`?"), "{err}");
    assert!(!err.contains("[environments.database_url]"), "{err}");
    assert_eq!(prod_history(&p), [M1]);
}

#[test]
fn unknown_environments_get_did_you_mean_for_near_misses_only() {
    let p = marked_production();
    for typo in ["prodution", "Production", "productoin"] {
        let out = p.run(&["status", "--env", typo]);
        assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
        let err = stderr(&out);
        assert!(err.contains("did you mean `production`?"), "{typo}: {err}");
        assert!(
            !err.contains(&format!("[environments.{typo}]")),
            "no section suggested for a near miss: {err}"
        );
    }
    let out = p.run(&["status", "--env", "qa"]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(!err.contains("did you mean"), "{err}");
    assert!(err.contains("[environments.qa]"), "{err}");
}

#[test]
fn dry_runs_ask_nothing_but_say_the_database_is_protected() {
    let p = marked_production();
    p.migration(M2, "more", "create table if not exists more (id int);\n");
    let out = run_as_database_url(&p, &["migrate", "--env", "DATABASE_URL", "--dry-run"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("this database is protected as `production`"),
        "{}",
        stderr(&out)
    );
    assert!(stdout(&out).contains(&format!("{M2}_more")));
    assert_eq!(prod_history(&p), [M1]);
    let out = p
        .cmd()
        .args([
            "migrate",
            "--env",
            "DATABASE_URL",
            "--dry-run",
            "--format",
            "json",
        ])
        .env("DATABASE_URL", prod_url(&p))
        .output()
        .unwrap();
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["protected_as"], "production", "{json}");
}

#[test]
fn import_into_a_marked_database_needs_confirmation_and_is_audited() {
    let p = marked_production();
    let csv = p.root().join("users.csv");
    std::fs::write(&csv, "id,email\n1,a@x.io\n2,b@x.io\n").unwrap();
    let count = |p: &TestProject| -> i64 {
        prod(p)
            .query_one("select count(*) from users", &[])
            .unwrap()
            .get(0)
    };
    let args = [
        "import",
        "users.csv",
        "--into",
        "users",
        "--key",
        "id",
        "--env",
        "DATABASE_URL",
    ];
    let out = run_as_database_url(&p, &args);
    assert_refused_as_production(&out);
    assert!(
        stderr(&out).contains("would import users.csv into users (mode upsert, key id)"),
        "{}",
        stderr(&out)
    );
    assert_eq!(count(&p), 0);
    assert!(!prod_events(&p).iter().any(|(e, _)| e == "imported"));

    let out = run_as_database_url(&p, &[&args[..], &["--yes"]].concat());
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(count(&p), 2);
    let events = prod_events(&p);
    let imported = events
        .iter()
        .find(|(e, _)| e == "imported")
        .expect("audited");
    assert!(
        imported.1.as_deref().unwrap().contains("--yes"),
        "{imported:?}"
    );
}

#[test]
fn repair_on_a_protected_database_asks_for_the_typed_name() {
    let p = marked_production();
    // A harmless edit of the applied file.
    p.migration(
        M1,
        "users",
        "-- users\ncreate table if not exists users (id int primary key, email text);\n",
    );
    let checksum = |p: &TestProject| -> String {
        prod(p)
            .query_one(
                "select checksum from dbsage.schema_migrations where version = $1",
                &[&M1],
            )
            .unwrap()
            .get(0)
    };
    let before = checksum(&p);
    for args in [
        &[
            "repair",
            "--accept-checksum",
            M1,
            "--reason",
            "comment",
            "--env",
            "production",
        ][..],
        &[
            "repair",
            "--accept-checksum",
            M1,
            "--reason",
            "comment",
            "--env",
            "DATABASE_URL",
        ][..],
    ] {
        let out = run_as_database_url(&p, args);
        assert_refused_as_production(&out);
        assert!(stderr(&out).contains("reason: comment"), "{}", stderr(&out));
        assert_eq!(checksum(&p), before);
    }
    assert!(!prod_events(&p)
        .iter()
        .any(|(e, _)| e == "checksum_accepted"));
    let out = run_as_database_url(
        &p,
        &[
            "repair",
            "--accept-checksum",
            M1,
            "--reason",
            "comment",
            "--env",
            "DATABASE_URL",
            "--yes",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_ne!(checksum(&p), before);
    let events = prod_events(&p);
    let tail: Vec<&str> = events
        .iter()
        .rev()
        .take(2)
        .map(|(e, _)| e.as_str())
        .collect();
    assert_eq!(
        tail,
        ["checksum_accepted", "protected_confirmed"],
        "{events:?}"
    );
}

#[test]
fn policy_and_pgtap_tests_against_a_marked_database_are_refused() {
    let p = marked_production();
    std::fs::create_dir_all(p.root().join("tests/rls")).unwrap();
    std::fs::write(
        p.root().join("tests/rls/users.toml"),
        "[[case]]\nname = \"anyone\"\nas = \"postgres\"\nsql = \"select 1\"\nexpect = { rows = 1 }\n",
    )
    .unwrap();
    std::fs::create_dir_all(p.root().join("tests/pgtap")).unwrap();
    std::fs::write(p.root().join("tests/pgtap/t.sql"), "select plan(0);\n").unwrap();
    for args in [
        &["secure", "test", "--env", "DATABASE_URL"][..],
        &["test", "--env", "DATABASE_URL"][..],
    ] {
        let out = run_as_database_url(&p, args);
        assert_refused_as_production(&out);
        assert!(
            stderr(&out).contains("--i-know-this-is-production"),
            "{}",
            stderr(&out)
        );
    }
}

/// A child process on a pseudo-terminal (its controlling terminal), and everything it writes.
struct Pty {
    child: std::process::Child,
    master: std::fs::File,
    output: Arc<Mutex<Vec<u8>>>,
}

impl Pty {
    fn spawn(mut cmd: std::process::Command) -> Pty {
        let (mut master, mut slave) = (0, 0);
        let size = libc::winsize {
            ws_row: 50,
            ws_col: 200,
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        let rc = unsafe {
            libc::openpty(
                &mut master,
                &mut slave,
                std::ptr::null_mut(),
                std::ptr::null(),
                &size,
            )
        };
        assert_eq!(rc, 0, "openpty: {}", std::io::Error::last_os_error());
        let slave = unsafe { OwnedFd::from_raw_fd(slave) };
        let master = unsafe { std::fs::File::from_raw_fd(master) };
        cmd.stdin(Stdio::from(slave.try_clone().unwrap()))
            .stdout(Stdio::from(slave.try_clone().unwrap()))
            .stderr(Stdio::from(slave.try_clone().unwrap()))
            .env("TERM", "xterm");
        unsafe {
            cmd.pre_exec(|| {
                // A new session whose controlling terminal is the pty: Ctrl-C reaches dbsage.
                if libc::setsid() < 0 || libc::ioctl(0, libc::TIOCSCTTY, 0) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let child = cmd.spawn().unwrap();
        drop(slave);
        let output = Arc::new(Mutex::new(Vec::new()));
        let mut reader = master.try_clone().unwrap();
        let sink = output.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            // EIO once the child and every copy of the slave side are gone.
            while let Ok(n) = reader.read(&mut buf) {
                if n == 0 {
                    break;
                }
                sink.lock().unwrap().extend_from_slice(&buf[..n]);
            }
        });
        Pty {
            child,
            master,
            output,
        }
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.output.lock().unwrap()).into_owned()
    }

    fn wait_for(&self, needle: &str) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while !self.text().contains(needle) {
            assert!(
                Instant::now() < deadline,
                "no {needle:?} on the terminal: {}",
                self.text()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn type_keys(&mut self, keys: &[u8]) {
        self.master.write_all(keys).unwrap();
        self.master.flush().unwrap();
    }

    /// Waits for the exit code, then a moment for the last output to be read.
    fn finish(mut self) -> (Option<i32>, String) {
        let deadline = Instant::now() + Duration::from_secs(60);
        let status = loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                break s;
            }
            assert!(Instant::now() < deadline, "still running: {}", self.text());
            std::thread::sleep(Duration::from_millis(50));
        };
        std::thread::sleep(Duration::from_millis(300));
        (status.code(), self.text())
    }
}

/// A project whose pending migrations have lint findings and both transaction modes.
fn with_pending_plan() -> TestProject {
    let p = marked_production();
    p.migration(M2, "more", "create table if not exists more (id int);\n");
    p.migration(
        M3,
        "more_index",
        "-- dbsage:no-transaction\ncreate index concurrently if not exists more_id on more (id);\n",
    );
    p
}

#[test]
fn the_prompt_shows_the_plan_and_takes_the_protected_name() {
    let p = with_pending_plan();
    let mut cmd = p.cmd();
    cmd.args(["migrate", "--env", "DATABASE_URL", "--skip-local-check"])
        .env("DATABASE_URL", prod_url(&p));
    let mut pty = Pty::spawn(cmd);
    pty.wait_for("Type `production` to confirm");
    let shown = pty.text();
    assert!(
        shown.contains("this database is protected as `production`"),
        "{shown}"
    );
    assert!(shown.contains("would apply 2 migrations:"), "{shown}");
    assert!(
        shown.contains(&format!("{M2}_more (transaction, 1 statement; lint: ")),
        "{shown}"
    );
    assert!(
        shown.contains(&format!(
            "{M3}_more_index (no-transaction, 1 statement; lint: "
        )),
        "{shown}"
    );
    assert!(
        (shown.contains(" warning [") || shown.contains(" warnings [")),
        "lint hazards with rule ids: {shown}"
    );
    // A wrong name changes nothing.
    pty.type_keys(b"prod\r");
    let (code, text) = pty.finish();
    assert_eq!(code, Some(3), "{text}");
    assert!(text.contains("does not match `production`"), "{text}");
    assert_eq!(prod_history(&p), [M1]);
    // The protected name applies.
    let mut cmd = p.cmd();
    cmd.args(["migrate", "--env", "DATABASE_URL", "--skip-local-check"])
        .env("DATABASE_URL", prod_url(&p));
    let mut pty = Pty::spawn(cmd);
    pty.wait_for("Type `production` to confirm");
    pty.type_keys(b"production\r");
    let (code, text) = pty.finish();
    assert_eq!(code, Some(0), "{text}");
    assert_eq!(prod_history(&p), [M1, M2, M3]);
    assert!(prod_events(&p)
        .iter()
        .any(|(e, r)| e == "protected_confirmed"
            && r.as_deref()
                .is_some_and(|r| r.starts_with("typed `production`"))));
}

#[test]
fn ctrl_c_at_the_prompt_says_cancelled_and_exits_130() {
    let p = marked_production();
    let mut cmd = p.cmd();
    cmd.args(["rollback", "--env", "DATABASE_URL"])
        .env("DATABASE_URL", prod_url(&p));
    let mut pty = Pty::spawn(cmd);
    pty.wait_for("Type `production` to confirm");
    let before = pty.text().len();
    pty.type_keys(b"\x03");
    let (code, text) = pty.finish();
    assert_eq!(code, Some(130), "{text}");
    let after = text[before..].trim();
    assert_eq!(
        after, "cancelled",
        "only \"cancelled\" after the prompt: {text:?}"
    );
    assert!(prod_table_exists(&p, "users"));
    assert_eq!(prod_history(&p), [M1]);
}

#[test]
fn the_gate_records_which_local_pass_stamp_it_relied_on() {
    let p = marked_production();
    p.migration(M2, "more", "create table if not exists more (id int);\n");
    let local = p.run(&["migrate", "--local"]);
    assert_eq!(local.status.code(), Some(0), "{}", stderr(&local));
    let stamps: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(p.root().join(".dbsage/local-pass.json")).unwrap(),
    )
    .unwrap();
    let set = stamps["passed"][0]["migration_set"]
        .as_str()
        .unwrap()
        .to_string();
    let out = p.run(&["migrate", "--env", "production", "--yes"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let relied: Vec<String> = prod_events(&p)
        .into_iter()
        .filter(|(event, _)| event == "local_pass_relied_on")
        .filter_map(|(_, reason)| reason)
        .collect();
    assert_eq!(relied.len(), 1, "{relied:?}");
    assert!(relied[0].contains(&set), "{relied:?} vs {set}");
}
