//! Guided workflows: `dbsage` alone under a pseudo-terminal (set up an empty folder, migrate),
//! and the listing without a terminal.

use crate::common;

use std::path::Path;
use std::process::{Command, Stdio};

use common::pty::{answer, finish, guided_with_timeout, DOWN, ENTER};
use common::{stdout, TestProject};
use rexpect::session::PtySession;

/// `dbsage` alone in `dir`, on a pseudo-terminal.
fn guided(dir: &Path) -> PtySession {
    guided_with_timeout(dir, 60_000)
}

#[test]
fn set_up_on_an_empty_folder_leaves_a_working_project() {
    let dir = tempfile::tempdir().unwrap();
    let mut session = guided(dir.path());
    answer(&mut session, "What do you want to do?", ENTER);
    answer(&mut session, "Check the installed PostgreSQL", "n");
    answer(&mut session, "Name of a first migration", "create_users\r");
    let (output, code) = finish(session);
    assert_eq!(code, 0, "{output}");
    assert!(output.contains("dbsage init --no-check"), "{output}");
    assert!(output.contains("dbsage new create_users"), "{output}");

    assert!(dir.path().join("dbsage.toml").is_file());
    let created: Vec<_> = std::fs::read_dir(dir.path().join("migrations"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with("_create_users.sql"))
        .collect();
    assert_eq!(created.len(), 1, "one first migration: {created:?}");
    // The project works: the migration written in that file passes the local test.
    std::fs::write(
        &created[0],
        "CREATE TABLE IF NOT EXISTS users (\n  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,\n  email text NOT NULL UNIQUE\n);\n",
    )
    .unwrap();
    let local = Command::new(env!("CARGO_BIN_EXE_dbsage"))
        .args(["migrate", "--local"])
        .current_dir(dir.path())
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    assert_eq!(
        local.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&local.stderr)
    );
}

#[test]
fn migrate_shows_the_plan_then_applies_to_the_default_database() {
    let p = TestProject::new();
    p.migration(
        "20260101000000",
        "create_orders",
        "CREATE TABLE IF NOT EXISTS orders (\n  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,\n  total_cents bigint NOT NULL\n);\n",
    );
    let mut session = guided(p.root());
    answer(
        &mut session,
        "What do you want to do?",
        &format!("{DOWN}{DOWN}{ENTER}"),
    );
    answer(&mut session, "Where?", ENTER);
    session.exp_string("what would run on test").unwrap();
    answer(&mut session, "Apply these migrations to test?", "y");
    let (output, code) = finish(session);
    assert_eq!(code, 0, "{output}");
    assert!(
        output.contains("dbsage migrate --env test --dry-run"),
        "{output}"
    );
    assert!(output.contains("dbsage migrate --env test\r\n"), "{output}");
    assert!(p.table_exists("orders"), "{output}");
    assert_eq!(p.history(), vec!["20260101000000".to_string()]);
}

#[test]
fn without_a_terminal_dbsage_lists_the_workflows_and_help_workflows_says_the_same() {
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_dbsage"))
            .args(args)
            .current_dir(dir.path())
            .stdin(Stdio::null())
            .output()
            .unwrap()
    };
    let alone = run(&[]);
    assert_eq!(alone.status.code(), Some(0));
    let listing = stdout(&alone);
    for (title, command) in [
        ("set up", "dbsage init"),
        ("review a change", "dbsage review --pending"),
        ("migrate", "dbsage migrate --local"),
        ("import data", "dbsage import FILE --into TABLE"),
        ("secure tables", "dbsage secure audit"),
        ("tune performance", "dbsage tune --env E"),
        ("deploy", "dbsage backup --env E"),
        ("advanced", "dbsage --help"),
    ] {
        assert!(listing.contains(title), "{title} missing:\n{listing}");
        assert!(listing.contains(command), "{command} missing:\n{listing}");
    }
    assert!(
        !dir.path().join("dbsage.toml").exists(),
        "listing writes nothing"
    );

    let help = run(&["help", "workflows"]);
    assert_eq!(help.status.code(), Some(0));
    assert_eq!(stdout(&help), listing);
}

#[test]
fn import_validates_first_then_merges_on_confirmation() {
    let p = TestProject::new();
    p.migration(
        "20260101000000",
        "create_people",
        "CREATE TABLE IF NOT EXISTS people (\n  email text PRIMARY KEY,\n  name text NOT NULL\n);\n",
    );
    let out = p.run(&["migrate"]);
    assert_eq!(out.status.code(), Some(0), "{}", common::stderr(&out));
    std::fs::write(
        p.root().join("people.csv"),
        "email,name\nada@example.test,Ada Lovelace\ngrace@example.test,Grace Hopper\n",
    )
    .unwrap();
    let mut session = guided(p.root());
    answer(
        &mut session,
        "What do you want to do?",
        &format!("{DOWN}{DOWN}{DOWN}{ENTER}"),
    );
    answer(&mut session, "File to load", "people.csv\r");
    answer(&mut session, "Into which table", "people\r");
    answer(&mut session, "Into which environment?", ENTER);
    session
        .exp_string("validate every row without merging")
        .unwrap();
    answer(&mut session, "Merge the rows now?", "y");
    let (output, code) = finish(session);
    assert_eq!(code, 0, "{output}");
    assert!(
        output.contains("dbsage import people.csv --into people --env test\r\n"),
        "{output}"
    );
    let count: i64 = p
        .client()
        .query_one("SELECT count(*) FROM people", &[])
        .unwrap()
        .get(0);
    assert_eq!(count, 2);
}

#[test]
fn ctrl_c_at_the_menu_cancels_with_nothing_written() {
    let dir = tempfile::tempdir().unwrap();
    let mut session = guided(dir.path());
    session.exp_string("What do you want to do?").unwrap();
    session.send_control('c').unwrap();
    let (output, code) = finish(session);
    assert_eq!(code, 130, "{output}");
    assert!(output.contains("cancelled"), "{output}");
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}
