//! Guided workflows under a pseudo-terminal, second part: secure, tune, deploy and advanced,
//! each driven through the menu to its end, checked for the command lines it prints and for
//! what it did.

use crate::common;

use std::path::Path;

use common::pty::{answer, finish, guided_with_timeout, DOWN, ENTER};
use common::TestProject;
use rexpect::session::PtySession;

/// The menu's entries, in order (see `guide::WORKFLOWS`).
const SECURE: usize = 4;
const TUNE: usize = 5;
const DEPLOY: usize = 6;
const ADVANCED: usize = 7;

/// `dbsage` alone in `dir`: these flows start clusters and take backups, hence 2 minutes.
fn guided(dir: &Path) -> PtySession {
    guided_with_timeout(dir, 120_000)
}

/// Picks the menu entry `index`.
fn choose_workflow(session: &mut PtySession, index: usize) {
    answer(
        session,
        "What do you want to do?",
        &format!("{}{ENTER}", DOWN.repeat(index)),
    );
}

/// The lines printed under "Next time, the same without questions:".
fn next_time(output: &str) -> Vec<String> {
    let Some((_, after)) = output.split_once("Next time, the same without questions:") else {
        panic!("no `Next time` in:\n{output}");
    };
    after
        .lines()
        .map(str::trim)
        .filter(|l| l.starts_with("dbsage "))
        .map(str::to_string)
        .collect()
}

#[test]
fn secure_audits_a_throwaway_copy_and_goes_on_to_the_coverage() {
    let p = TestProject::with_config("\n[supabase]\nenabled = true\n");
    p.migration(
        "20260101000000",
        "notes",
        "create table if not exists public.notes (\n  id bigint generated always as identity primary key,\n  owner_id uuid not null,\n  body text not null\n);\n\
         grant select, insert, update, delete on public.notes to authenticated;\n",
    );
    let mut session = guided(p.root());
    choose_workflow(&mut session, SECURE);
    answer(&mut session, "Which database?", ENTER);
    let (output, code) = finish(session);
    // The audit's finding is printed; findings are what the flow is for, not a reason to
    // stop before the coverage matrix.
    assert!(
        output.contains("rls-disabled-in-exposed-schema") && output.contains("public.notes"),
        "{output}"
    );
    assert!(output.contains("step 2/2"), "{output}");
    assert_eq!(
        next_time(&output),
        ["dbsage secure audit", "dbsage secure coverage"],
        "{output}"
    );
    assert_eq!(code, 1, "findings exit 1 as `secure audit` does:\n{output}");
    // The throwaway was a copy: the environment was not touched.
    assert!(!p.table_exists("notes"), "{output}");
}

#[test]
fn tune_prints_the_findings_of_the_chosen_environment() {
    let p = TestProject::new();
    p.migration(
        "20260101000000",
        "shop",
        "create table if not exists customers (\n  id bigint generated always as identity primary key,\n  email text not null unique\n);\n\
         create table if not exists orders (\n  id bigint generated always as identity primary key,\n  customer_id bigint not null references customers (id),\n  status text not null\n);\n\
         create index if not exists orders_status_idx on orders (status);\n\
         create index if not exists orders_status_again_idx on orders (status);\n",
    );
    let out = p.run(&["migrate", "--skip-local-check"]);
    assert_eq!(out.status.code(), Some(0), "{}", common::stderr(&out));
    let mut session = guided(p.root());
    choose_workflow(&mut session, TUNE);
    answer(&mut session, "Which database?", ENTER);
    answer(
        &mut session,
        "Also propose indexes proven on the real workload",
        "n",
    );
    let (output, _code) = finish(session);
    assert!(
        output.contains("unindexed-foreign-key") && output.contains("public.orders"),
        "{output}"
    );
    assert!(
        output.contains("duplicate-index") && output.contains("orders_status_again_idx"),
        "{output}"
    );
    assert!(output.contains("step 2/2"), "{output}");
    assert_eq!(
        next_time(&output),
        ["dbsage tune --env test", "dbsage health --env test"],
        "{output}"
    );
}

#[test]
fn deploy_tests_backs_up_shows_the_plan_and_the_gate_refuses_a_wrong_name() {
    let p = TestProject::with_config("protected = true\n");
    p.migration(
        "20260101000000",
        "create_orders",
        "create table if not exists orders (\n  id bigint generated always as identity primary key,\n  total_cents bigint not null check (total_cents >= 0)\n);\n",
    );
    let mut session = guided(p.root());
    choose_workflow(&mut session, DEPLOY);
    answer(&mut session, "Deploy to which environment?", ENTER);
    answer(&mut session, "Take a backup of test first?", "y");
    session
        .exp_string("20260101000000_create_orders (1 statement)")
        .unwrap_or_else(|e| panic!("the plan: {e}"));
    answer(&mut session, "Apply these migrations to test?", "y");
    // The protected environment's own gate: the typed name.
    answer(&mut session, "Type `test` to confirm", "production\r");
    let (output, code) = finish(session);
    assert_eq!(code, 3, "refused by the gate:\n{output}");
    assert!(output.contains("nothing was changed"), "{output}");
    assert_eq!(
        next_time(&output),
        [
            "dbsage migrate --local",
            "dbsage backup --env test",
            "dbsage migrate --env test --dry-run",
            "dbsage migrate --env test",
        ],
        "{output}"
    );
    assert!(!p.table_exists("orders"), "{output}");
    assert_eq!(p.history(), Vec::<String>::new());
    // The backup step ran: one complete backup of test is listed.
    let (backups, code) = p.json(&["backup", "list", "--env", "test"]);
    assert_eq!(code, 0, "{backups:#}");
    let listed = backups["backups"].as_array().unwrap();
    assert_eq!(listed.len(), 1, "{backups:#}");
    assert_eq!(listed[0]["state"], "complete", "{backups:#}");
}

#[test]
fn advanced_runs_a_typed_command_with_shell_quoting() {
    let p = TestProject::new();
    let mut session = guided(p.root());
    choose_workflow(&mut session, ADVANCED);
    answer(
        &mut session,
        "Command to run, without `dbsage`",
        "new 'add invoices'\r",
    );
    let (output, code) = finish(session);
    assert_eq!(code, 0, "{output}");
    assert_eq!(
        next_time(&output),
        ["dbsage new 'add invoices'"],
        "{output}"
    );
    let created: Vec<_> = std::fs::read_dir(p.root().join("migrations"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with("_add_invoices.sql"))
        .collect();
    assert_eq!(created.len(), 1, "{output}");
}
